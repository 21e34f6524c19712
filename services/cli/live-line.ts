const CLEAR = '\r\x1b[2K';

/**
 * One line at the bottom of a terminal that is redrawn in place, with ordinary lines printed
 * above it. Only for a TTY: elsewhere the escape codes would be noise.
 */
export class LiveLine {
  private text = '';

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** Replaces the live line. */
  set(text: string): void {
    // Cut to the terminal's width: a wrapped line could not be redrawn in place.
    this.text = text.slice(0, Math.max(1, (this.out.columns || 80) - 1));
    this.out.write(CLEAR + this.text);
  }

  /** Prints `line` above the live line, which stays. */
  print(line: string): void {
    this.out.write(`${this.text ? CLEAR : ''}${line}\n${this.text}`);
  }

  /** Removes the live line, leaving the cursor at the start of an empty line. */
  clear(): void {
    if (this.text) this.out.write(CLEAR);
    this.text = '';
  }
}
