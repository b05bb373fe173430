//! Float32 `exp`, `log`, `sin`, `cos`, `tanh` and `sigmoid` whose loops the
//! compiler vectorises.
//!
//! libm's scalar functions cost 2-8 ns an element and stop a loop from
//! vectorising; PyTorch calls SLEEF's vector functions instead. Here each
//! function is branch-free straight-line code (selects, no calls), so the
//! loop that applies it vectorises, and [`apply`] compiles that loop for
//! AVX-512 and AVX2 too, picked at run time.
//!
//! Accuracy: each float32 function is evaluated in float64, with range
//! reduction and polynomials whose relative error is below 1e-13, and then
//! rounded once to float32; so results are the correctly rounded value
//! except when the exact value lies within ~1e-13 of a rounding midpoint
//! (then off by at most one ulp), as glibc's own float32 functions (also
//! computed in double) are. `tests/test_vmath_accuracy.py` measures it
//! against float64 references. Rust never contracts `a * b + c` into an FMA,
//! so every instruction set gives bit-identical results.
//!
//! Sources: the argument reductions and the sin/cos kernels are FreeBSD
//! msun's float functions (`e_rem_pio2f.c`, `k_sinf.c`, `k_cosf.c`, which
//! also work in double); `exp` uses the classic `x = n ln2 + r` reduction
//! with fdlibm's split of ln 2 and a Taylor polynomial; `log` uses
//! `log(m) = 2 atanh((m - 1) / (m + 1))` on `m` in [1/sqrt 2, sqrt 2)
//! (Cody & Waite, *Software Manual for the Elementary Functions*, 1980).

use std::mem::MaybeUninit;

/// `(x + ROUND) - ROUND` rounds `|x| < 2^51` to the nearest integer (ties
/// to even), and the low bits of `x + ROUND` hold that integer.
const ROUND: f64 = 6755399441055744.0; // 1.5 * 2^52

// ln 2 split so that `n * LN2_HI` is exact for |n| < 2^20 (fdlibm).
const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const LN2: f64 = std::f64::consts::LN_2;
const LOG2_E: f64 = std::f64::consts::LOG2_E;

/// `2^n` for an integer-valued `n` in [-1022, 1023], built in the exponent
/// field (no float-to-int conversion, which AVX2 lacks for 64-bit lanes).
#[inline(always)]
fn pow2(n: f64) -> f64 {
    // n + 2^52 + 1023 has n + 1023 in its low mantissa bits.
    f64::from_bits((n + (4503599627370496.0 + 1023.0)).to_bits() << 52)
}

/// `e^x` for `x` in about [-700, 700] (callers clamp), relative error
/// below 1e-14.
#[inline(always)]
fn exp64(x: f64) -> f64 {
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO; // |r| <= ln2 / 2
    // Taylor series to r^11: the remainder is below 1e-14 relative.
    const C: [f64; 12] = [
        1.0 / 39916800.0,
        1.0 / 3628800.0,
        1.0 / 362880.0,
        1.0 / 40320.0,
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = C[0];
    for c in &C[1..] {
        p = p * r + c;
    }
    p * pow2(n)
}

/// `x` clamped to [lo, hi], NaN kept (`f64::clamp` would also keep it, but
/// through a branch the vectoriser rejects).
#[inline(always)]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    let x = if x < lo { lo } else { x };
    if x > hi { hi } else { x }
}

#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // e^-104 rounds to 0 in float32 and e^89 overflows: clamping there
    // keeps `n` small without changing any result.
    exp64(clamp(x as f64, -104.0, 89.0)) as f32
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    (1.0 / (1.0 + exp64(-clamp(x as f64, -200.0, 200.0)))) as f32
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = clamp((x as f64).abs(), 0.0, 20.0); // tanh(20) is 1 in float32
    let e = exp64(2.0 * a);
    let big = (e - 1.0) / (e + 1.0);
    // Below 1e-4, (e - 1) loses digits; the series x - x^3/3 is exact to
    // float64 there.
    let small = a - a * a * a * (1.0 / 3.0);
    (if a < 1e-4 { small } else { big }).copysign(x as f64) as f32
}

#[inline(always)]
pub fn log(x: f32) -> f32 {
    let d = x as f64; // float32 subnormals are normal float64s
    let bits = d.to_bits();
    // The exponent, as a float, through the same mantissa trick as `pow2`.
    let mut e = f64::from_bits(((bits >> 52) & 0x7ff) | 0x4330_0000_0000_0000) - (4503599627370496.0 + 1023.0);
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    let high = m > std::f64::consts::SQRT_2;
    m = if high { m * 0.5 } else { m };
    e = if high { e + 1.0 } else { e };
    let f = m - 1.0;
    let s = f / (2.0 + f); // |s| <= 0.1716
    let z = s * s;
    // 2 atanh(s) = 2 (s + s^3/3 + ... + s^15/15); remainder below 1e-13.
    const C: [f64; 8] = [2.0 / 15.0, 2.0 / 13.0, 2.0 / 11.0, 2.0 / 9.0, 2.0 / 7.0, 2.0 / 5.0, 2.0 / 3.0, 2.0];
    let mut p = C[0];
    for c in &C[1..] {
        p = p * z + c;
    }
    let r = e * LN2 + s * p;
    let r = if d == 0.0 { f64::NEG_INFINITY } else { r };
    let r = if d < 0.0 || d.is_nan() { f64::NAN } else { r };
    (if d == f64::INFINITY { d } else { r }) as f32
}

/// Below this |x|, `x - k pi/2` is accurate to double precision with
/// `PIO2_1` (FreeBSD's "medium size" bound, 2^28 pi/2); above, libm.
const SIN_COS_BOUND: f32 = 421657440.0;

/// `(sin x, cos x)` for finite |x| below [`SIN_COS_BOUND`].
#[inline(always)]
fn sin_cos(x: f32) -> (f64, f64) {
    const INV_PIO2: f64 = 6.366_197_723_675_813_824_33e-1;
    const PIO2_1: f64 = 1.570_796_310_901_641_845_70; // first 25 bits of pi/2
    const PIO2_1T: f64 = 1.589_325_477_352_819_669_16e-8; // pi/2 - PIO2_1
    let d = x as f64;
    let shifted = d * INV_PIO2 + ROUND;
    let k = shifted - ROUND;
    let quadrant = shifted.to_bits() & 3;
    let r = (d - k * PIO2_1) - k * PIO2_1T; // |r| <= pi/4
    let z = r * r;
    let w = z * z;
    // k_sinf.c: |error| < 2^-37 on [-pi/4, pi/4].
    const S1: f64 = -0.166_666_666_416_265_235_595;
    const S2: f64 = 0.008_333_329_385_889_463_175_6;
    const S3: f64 = -0.000_198_393_348_360_966_317_347;
    const S4: f64 = 0.000_002_718_311_493_989_821_906_4;
    let s = (r + z * r * (S1 + z * S2)) + z * r * w * (S3 + z * S4);
    // k_cosf.c: |error| < 2^-34.
    const C0: f64 = -0.499_999_997_251_031_003_120;
    const C1: f64 = 0.041_666_623_323_739_063_189_4;
    const C2: f64 = -0.001_388_676_377_460_992_946_92;
    const C3: f64 = 0.000_024_390_448_796_277_409_065_4;
    let c = ((1.0 + z * C0) + w * C1) + (w * z) * (C2 + z * C3);
    // sin(x) over the quadrants: s, c, -s, -c; cos(x): c, -s, -c, s.
    let sin = if quadrant & 1 == 0 { s } else { c };
    let cos = if quadrant & 1 == 0 { c } else { s };
    let sin = if quadrant & 2 == 0 { sin } else { -sin };
    let cos = if (quadrant + 1) & 2 == 0 { cos } else { -cos };
    // sin(-0) is -0; the polynomial gives +0.
    (if d == 0.0 { d } else { sin }, cos)
}

/// Applies `f` to each element of `src`, writing `dst` (same length). The
/// loop is compiled three times, for AVX-512, for AVX2 and for the
/// baseline, and the best the CPU runs is chosen at run time.
pub fn apply(src: &[f32], dst: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32 + Copy) {
    #[inline(always)]
    fn each(src: &[f32], dst: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32 + Copy) {
        for (d, &x) in dst.iter_mut().zip(src) {
            d.write(f(x));
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(src: &[f32], dst: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32 + Copy) {
            each(src, dst, f)
        }
        #[target_feature(enable = "avx2")]
        unsafe fn avx2(src: &[f32], dst: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32 + Copy) {
            each(src, dst, f)
        }
        // SAFETY: each runs only where the CPU has its features.
        if std::is_x86_feature_detected!("avx512f") {
            return unsafe { avx512(src, dst, f) };
        }
        if std::is_x86_feature_detected!("avx2") {
            return unsafe { avx2(src, dst, f) };
        }
    }
    each(src, dst, f)
}

/// `sin` (or `cos`, with `want_cos`) of each element: blocks whose
/// elements are all finite and below [`SIN_COS_BOUND`] take the vectorised
/// kernel; the others go element by element, to libm past the bound.
pub fn apply_sin_cos(src: &[f32], dst: &mut [MaybeUninit<f32>], want_cos: bool) {
    const BLOCK: usize = 256;
    let pick = move |x: f32| {
        let (s, c) = sin_cos(x);
        (if want_cos { c } else { s }) as f32
    };
    for (src, dst) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        // NaN fails the comparison too.
        if src.iter().fold(true, |ok, x| ok & (x.abs() <= SIN_COS_BOUND)) {
            apply(src, dst, pick);
        } else {
            for (d, &x) in dst.iter_mut().zip(src) {
                d.write(match (x.abs() <= SIN_COS_BOUND, want_cos) {
                    (true, _) => pick(x),
                    (false, false) => x.sin(),
                    (false, true) => x.cos(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in float32 ulps between `got` and the float64 reference.
    fn ulps(got: f32, want: f64) -> f64 {
        if got as f64 == want || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        let spacing = (want as f32).abs();
        let spacing = (f32::from_bits(spacing.to_bits() + 1) - spacing).max(f32::from_bits(1)) as f64;
        (got as f64 - want).abs() / spacing
    }

    fn worst(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, lo: f32, hi: f32) -> f64 {
        let n = 200_000;
        (0..=n)
            .map(|i| lo + (hi - lo) * (i as f32 / n as f32))
            .map(|x| ulps(f(x), reference(x as f64)))
            .fold(0.0, f64::max)
    }

    #[test]
    fn functions_stay_within_one_ulp_of_float64() {
        assert!(worst(exp, f64::exp, -103.0, 88.7) <= 1.0);
        assert!(worst(log, f64::ln, 1e-30, 1e30) <= 1.0);
        assert!(worst(log, f64::ln, 0.5, 2.0) <= 1.0);
        assert!(worst(tanh, f64::tanh, -12.0, 12.0) <= 1.0);
        assert!(worst(sigmoid, |x| 1.0 / (1.0 + (-x).exp()), -100.0, 100.0) <= 1.0);
        let sin = |x: f32| sin_cos(x).0 as f32;
        let cos = |x: f32| sin_cos(x).1 as f32;
        assert!(worst(sin, f64::sin, -1000.0, 1000.0) <= 1.0);
        assert!(worst(cos, f64::cos, -1000.0, 1000.0) <= 1.0);
    }

    #[test]
    fn special_values_match_libm() {
        for x in [0.0f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 88.72284, -103.98, 1e-40] {
            let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            assert!(same(exp(x), x.exp()), "exp({x})");
            assert!(same(tanh(x), x.tanh()), "tanh({x})");
            assert!(same(log(x), x.ln()), "log({x})");
        }
        let mut out = [MaybeUninit::new(0.0f32); 4];
        apply_sin_cos(&[-0.0, f32::INFINITY, 1e30, 3.0], &mut out, false);
        let out: Vec<f32> = out.iter().map(|v| unsafe { v.assume_init() }).collect();
        assert_eq!(out[0].to_bits(), (-0.0f32).to_bits());
        assert!(out[1].is_nan());
        assert_eq!(out[2], 1e30f32.sin());
        assert_eq!(out[3], 3.0f32.sin());
    }
}
