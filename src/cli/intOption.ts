/**
 * The one parser of integer command-line options: a commander argument parser that refuses
 * anything but an integer ≥ min, naming the option and the value given.
 */
export function intOption(flag: string, min = 1): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min)
      throw new Error(`${flag}: expected an integer >= ${min}, got '${v}'`);
    return n;
  };
}
