/**
 * Number formatting with the exact semantics of Python: `repr(float)` and
 * `format(x, ".Nf")`, so printed figures match the Python tools' byte for
 * byte.
 *
 * @module
 */

/**
 * Python's `repr(float)`: the shortest string that round-trips, `2.0` for
 * integral values, and exponent form (`1e-05`, `1.5e+16`) when the decimal
 * exponent is below −4 or at least 16; `nan`, `inf`, `-inf`, `-0.0`.
 *
 * @param x Any number, rendered as a Python float.
 * @returns The Python repr.
 *
 * @example Usage
 * ```ts
 * import { formatPyFloat } from "./py_format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatPyFloat(300), "300.0");
 * assert.equal(formatPyFloat(0.00001), "1e-05");
 * assert.equal(formatPyFloat(109.25), "109.25");
 * ```
 */
export function formatPyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without digits gives the shortest round-trip digits,
  // the same ones Python's repr picks.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const decpt = exp + 1;
  if (decpt <= -4 || decpt > 16) {
    const frac = digits.length > 1 ? "." + digits.slice(1) : "";
    const e = String(Math.abs(exp)).padStart(2, "0");
    return `${sign}${digits[0]}${frac}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) {
    return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  }
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * Python's `format(x, ".<digits>f")`: fixed point, rounded half-to-even on
 * the exact binary value (so `0.125` → `"0.12"`, unlike `toFixed`), with the
 * sign kept on negative values that round to zero (`-0.000`), no exponent
 * for large values, and `nan`/`inf`/`-inf`.
 *
 * @param x The number.
 * @param digits Digits after the point, an integer ≥ 0.
 * @returns The formatted number.
 * @throws {RangeError} If `digits` is not a non-negative integer.
 *
 * @example Usage
 * ```ts
 * import { formatFixed } from "./py_format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatFixed(2.675, 2), "2.67"); // 2.675 is really 2.67499999…
 * assert.equal(formatFixed(0.125, 2), "0.12"); // half to even
 * assert.equal(formatFixed(1234.5, 0), "1234");
 * ```
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0) {
    throw new RangeError(`Cannot format with ${digits} digits`);
  }
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const { mantissa, exponent } = decompose(Math.abs(x));
  const scale = 10n ** BigInt(digits);
  let q: bigint;
  if (exponent >= 0) {
    q = (mantissa << BigInt(exponent)) * scale;
  } else {
    const den = 1n << BigInt(-exponent);
    const num = mantissa * scale;
    q = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  }
  const text = q.toString().padStart(digits + 1, "0");
  if (digits === 0) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

// x (finite, ≥ 0) as mantissa · 2^exponent, exactly.
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}
