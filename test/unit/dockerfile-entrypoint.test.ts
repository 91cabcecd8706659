import { describe, expect, it } from "vitest";
import { dockerfileGatesFor } from "../support/dockerfile-gates.js";
import { GOOD_DOCKERFILE } from "../support/project.js";

const withEntrypoint = (lines: string) => GOOD_DOCKERFILE.replace(/ENTRYPOINT .*\n/, `${lines}\n`);
const entrypointGate = async (dockerfile: string, files: Record<string, string>) =>
  (await dockerfileGatesFor(dockerfile, files))["dockerfile.entrypoint"];

const HANDLERS = "def model_fn(model_dir):\n    return {}\n\ndef predict_fn(data, models):\n    return {}\n";

describe("ENTRYPOINT: phase 1 decides only what the files tell (issue 13 item 2)", () => {
  it("leaves a launcher that imports the server from the project's own code to phase 3, instead of refusing it", async () => {
    const gate = await entrypointGate(
      withEntrypoint(
        'COPY launch.py /opt/app/launch.py\nCOPY lib/ /opt/app/lib/\nENTRYPOINT ["python3", "/opt/app/launch.py"]',
      ),
      {
        "container/launch.py": "import sys\nfrom lib.http import start\n\nstart(sys.argv[1:])\n",
        "container/lib/__init__.py": "",
        "container/lib/http.py":
          "import socketserver\n\ndef start(args):\n    socketserver.TCPServer(('', 8080), Handler).serve_forever()\n",
      },
    );
    expect(gate?.status, gate?.message).toBe("pass");
    expect(gate?.message).toMatch(
      /launch\.py with `serve`: whether it starts an HTTP server on 8080 is decided in phase 3/,
    );
    expect(gate?.evidence).toMatchObject({
      decidedIn: 3,
      effectiveCommand: ["python3", "/opt/app/launch.py", "serve"],
    });
  });

  it("does not approve a script on the word gunicorn in a comment: it only defines functions, so it fails", async () => {
    const gate = await entrypointGate(
      withEntrypoint('COPY serve.py /opt/ml/code/serve.py\nENTRYPOINT ["python", "/opt/ml/code/serve.py"]'),
      { "container/serve.py": `# TODO: run this under gunicorn (gunicorn -b :8080 serve:app)\n${HANDLERS}` },
    );
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(
      /serve\.py, which starts no HTTP server: it only defines model_fn, predict_fn/,
    );
    expect(gate?.location?.line).toBe(11);
  });

  it("a script that runs something is neither approved nor refused on its words: phase 3 decides", async () => {
    const gate = await entrypointGate(
      withEntrypoint('COPY serve.py /opt/ml/code/serve.py\nENTRYPOINT ["python", "/opt/ml/code/serve.py"]'),
      { "container/serve.py": `# served by gunicorn\n${HANDLERS}\nmain()\n` },
    );
    expect(gate?.status).toBe("pass");
    expect(gate?.message).not.toMatch(/starts an HTTP server$/);
    expect(gate?.message).toMatch(/decided in phase 3/);
  });

  it("still fails the seed's inference.py with logging set up and python options (issue #7)", async () => {
    const gate = await entrypointGate(
      withEntrypoint(
        'COPY inference.py /opt/ml/code/inference.py\nENTRYPOINT ["python3", "-u", "/opt/ml/code/inference.py"]',
      ),
      {
        "container/inference.py": `"""SageMaker handlers."""\nimport json\nimport logging\nimport os\n\nimport torch\n\nlogger = logging.getLogger(__name__)\nlogging.basicConfig(level=logging.INFO)\nMODEL_DIR = os.environ.get("MODEL_DIR", "/opt/ml/model")\n\n${HANDLERS}`,
      },
    );
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(/inference\.py, which starts no HTTP server/);
  });

  it("fails uvicorn and hypercorn, which refuse `serve` as a second application argument", async () => {
    for (const server of ["uvicorn", "hypercorn"]) {
      const gate = await entrypointGate(
        withEntrypoint(`ENTRYPOINT ["${server}", "app:app", "--port", "8080"]`),
        {},
      );
      expect(gate?.status).toBe("fail");
      expect(gate?.message).toMatch(new RegExp(`${server}, which takes one application argument`));
    }
  });

  it("fails an ENTRYPOINT whose JSON is broken: Docker runs it in shell form", async () => {
    const gate = await entrypointGate(withEntrypoint('ENTRYPOINT ["python3", "-m", "gen3d_serving"'), {});
    expect(gate?.status).toBe("fail");
    expect(gate?.message).toMatch(/not a valid JSON array of strings, so Docker runs it in shell form/);
  });

  it("keeps spaces inside exec-form strings (dockerfile-ast's own values drop them)", async () => {
    const gate = await entrypointGate(withEntrypoint('ENTRYPOINT ["/opt/my app/run server"]'), {});
    expect(gate?.evidence).toMatchObject({ entrypoint: ["/opt/my app/run server"] });
  });
});
