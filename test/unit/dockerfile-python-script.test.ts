import { describe, expect, it } from "vitest";
import { topLevel } from "../../src/checks/dockerfile/python-script.js";

describe("topLevel: what running a Python file does at its top level", () => {
  const local = () => false;
  it("reads defs, imports, docstrings and quiet assignments as 'defines only'", () => {
    const source = `"""if __name__ == "__main__": main()"""\nimport os, json\nfrom typing import (\n    Any,\n)\nX = {\n  "a": os.getenv("A"),\n}\n\n@staticmethod_like\ndef f():\n    app.run()\n\nclass C:\n    pass\n`;
    expect(topLevel(source, local)).toMatchObject({ definesOnly: false, runs: { line: 10 } });
    expect(topLevel(source.replace("@staticmethod_like\n", ""), local)).toEqual({
      definesOnly: true,
      defined: ["f", "C"],
    });
  });

  it("a __main__ block, a call or an import of local code runs something", () => {
    expect(topLevel('if __name__ == "__main__":\n    main()\n', local).definesOnly).toBe(false);
    expect(topLevel("serve()\n", local).definesOnly).toBe(false);
    expect(topLevel("import server\n", (m) => m === "server").definesOnly).toBe(false);
    expect(topLevel("from . import server\n", local).definesOnly).toBe(false);
    expect(topLevel("import flask\n", local).definesOnly).toBe(true);
  });
});
