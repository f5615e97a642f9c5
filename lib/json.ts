// JSON.parse's SyntaxError quotes the text it failed on (V8: `Unexpected token 'a', "aws_secret…"
// is not valid JSON`). What k2k's programs report ends up in status conditions and events that
// more people can read than the file, so a parse error says where the text is wrong, never what
// it says.

/** JSON.parse, with an error that gives the line and column of the fault but none of the text. */
export function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(jsonFault(err, text));
  }
}

function jsonFault(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : '';
  const position = /at position (\d+)/.exec(message);
  if (position) {
    const offset = Number(position[1]);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return line === 1 && !text.includes('\n')
      ? `not valid JSON (column ${column})`
      : `not valid JSON (line ${line}, column ${column})`;
  }
  if (/Unexpected end/.test(message)) return 'not valid JSON (it ends early)';
  return 'not valid JSON';
}
