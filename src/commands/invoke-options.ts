/** `gen3d invoke`'s flags, as commander parses them; its own file so the request parser and the command share it without importing each other. */
export interface InvokeOptions {
  task?: string;
  image?: string;
  point?: string;
  box?: string;
  mask?: string;
  out?: string;
  /** commander's `--no-wait` sets this to false. */
  wait?: boolean;
  result?: string;
  /** Tests: the first poll delay. */
  pollMinMs?: number;
}
