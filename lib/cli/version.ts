/**
 * kvbench's version, as `--version`, run directories and reports say it.
 *
 * @module
 */

/** The version of this kvbench. */
export const VERSION = "0.1.0";
