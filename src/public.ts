/**
 * What every entry point exports besides its own functions: the public types
 * and the error classes (values, so that `instanceof` works whichever entry a
 * program imports).
 *
 * @module
 */

export type * from "./types.ts";
export {
  KvBusyError,
  KvChangesGapError,
  KvClosedError,
  KvCodecError,
  KvCorruptError,
  KvError,
  KvReadOnlyError,
  KvSchemaError,
} from "./errors.ts";
