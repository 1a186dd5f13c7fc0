/**
 * Line-protocol bodies arrive as decoded parts (src/http/body.ts readTextParts). Joining 10 MiB of
 * parts into one string is itself a ~30 ms synchronous step, so the parser is fed slices cut from
 * the parts directly: each slice ends at a line end, and only the parts it spans are concatenated.
 */
export class LineSlicer {
  private next_ = 0; // index of the next part not yet taken
  private carry = ''; // the start of the next slice, left over from the last part taken

  constructor(private readonly parts: readonly string[]) {}

  /**
   * The next slice: at least `size` characters (fewer only at the end of the text), ending just
   * after a '\n' or at the end of the text; undefined once everything was handed out.
   */
  take(size: number): string | undefined {
    // The cut is looked for in one part at a time and the pieces are joined once: appending parts
    // to a string and searching it again would copy it per part (quadratic in a hostile body's
    // one long line).
    const pieces: string[] = [];
    let before = 0; // characters in `pieces`
    let piece = this.carry;
    this.carry = '';
    for (;;) {
      const from = Math.max(0, size - 1 - before); // a cut before this would make the slice too short
      const nl = from < piece.length ? piece.indexOf('\n', from) : -1;
      if (nl >= 0) {
        this.carry = piece.slice(nl + 1);
        pieces.push(nl + 1 === piece.length ? piece : piece.slice(0, nl + 1));
        return pieces.length === 1 ? pieces[0] : pieces.join('');
      }
      if (piece !== '') {
        pieces.push(piece);
        before += piece.length;
      }
      if (this.next_ >= this.parts.length) return pieces.length === 0 ? undefined : pieces.length === 1 ? pieces[0] : pieces.join('');
      piece = this.parts[this.next_++];
    }
  }
}

/**
 * Slice sizes that keep each parse step near `targetMs`: the next size is scaled by how long the
 * last slice took, at most doubling or halving per step, within [min, max] characters. Cold code
 * (the parser's first calls) and a young-generation GC inside a step both make it shrink.
 */
export class SliceSizer {
  constructor(
    public size: number,
    private readonly targetMs: number,
    private readonly min: number,
    private readonly max: number,
  ) {}

  /** Records that a slice of `chars` took `ms`, and returns the next size. */
  took(chars: number, ms: number): number {
    const perChar = Math.max(ms, 0.05) / Math.max(chars, 1);
    const want = this.targetMs / perChar;
    this.size = Math.round(Math.min(this.max, Math.max(this.min, Math.min(this.size * 2, Math.max(this.size / 2, want)))));
    return this.size;
  }
}
