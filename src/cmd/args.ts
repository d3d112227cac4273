// What the subcommands share in reading their arguments: a cursor over argv whose value() takes
// an option's argument, and the error that means "print usage and exit 2".

/** A mistake in the command line: the subcommand prints it with its usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export class Args {
  private i = -1;
  constructor(private readonly argv: readonly string[]) {}

  /** The next word, or undefined after the last. */
  next(): string | undefined {
    return this.argv[++this.i];
  }

  /** The argument of option `opt` (the next word); a UsageError when there is none. */
  value(opt: string): string {
    const v = this.argv[++this.i];
    if (v === undefined) throw new UsageError(`${opt} needs a value`);
    return v;
  }
}
