// The one key of a module (modid, cmdid) in maps and sets, in every role.
//
// modid and cmdid are 32-bit patterns: the wire carries them as int32 (so a decoded id may be
// negative) while the store, the CLI and the admin number them 0..4294967295. Both spellings of
// one id must give one key, so the key is the unsigned value of each: -1 and 4294967295 are the
// same module. A single JS number cannot hold both ids (64 bits exceed 2^53), and a bigint would
// not travel as JSON; the text "modid/cmdid" does, and it is what the status page reads back
// (src/web/static/app.js splits it at "/").

/** "modid/cmdid", each as its unsigned 32-bit value. */
export function moduleKey(modid: number, cmdid: number): string {
  return `${modid >>> 0}/${cmdid >>> 0}`;
}
