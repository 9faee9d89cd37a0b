// How every face of the emulator reads its settings: from the environment (a blank value is unset; a bad number is
// refused naming the variable), and with the unset ones left out so the face's defaults apply.

/** Readers of settings in `env`. */
export function envReader(env: NodeJS.ProcessEnv) {
  const read = (name: string): string | undefined => env[name]?.trim() || undefined;
  const num = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const text = read(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be a whole number from ${min} to ${max}, got '${text}'`);
    }
    return value;
  };
  const list = (name: string): string[] | undefined =>
    read(name)
      ?.split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  return { read, num, list };
}

/** `options` without the settings left undefined. */
export function definedOnly<T extends object>(options: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
