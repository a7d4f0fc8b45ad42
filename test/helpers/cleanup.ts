// Undo-on-exit for tests that build several resources: register each one's cleanup as soon as
// it exists, so a failure halfway (e.g. a daemon that does not start) still drops the database.
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];

  /** Registers `undo` and returns `value`, for `const x = cleanup.add(await make(), (x) => x.close())`. */
  add<T>(value: T, undo: (value: T) => unknown): T {
    this.steps.push(() => undo(value));
    return value;
  }

  /** Runs every registered step, newest first, even when some fail. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
