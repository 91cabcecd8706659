// The few parts of mvdan-sh (GopherJS build of mvdan.cc/sh/v3/syntax) that the RUN checks use.
declare module "mvdan-sh" {
  export interface Pos {
    Line(): number;
    Col(): number;
    Offset(): number;
  }
  export interface Node {
    Pos(): Pos;
    [field: string]: unknown;
  }
  export interface Syntax {
    NewParser(): { Parse(src: string, name: string): Node };
    Walk(node: Node, visit: (node: Node | null) => boolean): void;
    NodeType(node: Node): string;
  }
  const sh: { syntax: Syntax };
  export default sh;
}
