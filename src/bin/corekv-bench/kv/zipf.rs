//! Random numbers for key choice: a small seeded PRNG and a Zipf sampler. Pure, no I/O.
//!
//! The load generator draws one key per request, so both must be cheap and allocation-free,
//! and a run must be reproducible from `--seed`: no OS randomness here.
//!
//! # Zipf by rejection-inversion
//! [`Zipf`] samples ranks `1..=n` with `P(k) ∝ k^-s` using Hörmann and Derflinger's
//! rejection-inversion ("Rejection-inversion to generate variates from monotone discrete
//! distributions", ACM TOMACS 1996), the algorithm Apache Commons uses: O(1) memory and time
//! whatever `n` (a precomputed CDF would need 8 bytes per key, 8 GB for a billion keys), and
//! exact for every exponent `s > 0`, including 1. It draws a point under the continuous hat
//! function `h(x) = x^-s` by inverting its integral `H`, rounds it to the nearest integer `k`,
//! and accepts when the point lies under the step `k^-s`; the expected number of draws per
//! sample is close to 1.

/// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, good enough for load shapes.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the state with splitmix64, as the authors recommend (never all zero).
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` without modulo bias (Lemire's multiply-and-reject); `n > 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

/// Ranks `1..=n` with probability proportional to `rank^-exponent`.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: f64,
    exponent: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    s: f64,
}

impl Zipf {
    /// `n >= 1` ranks, `exponent > 0` (finite).
    pub fn new(n: u64, exponent: f64) -> Result<Zipf, String> {
        if n == 0 {
            return Err("Zipf needs at least one rank".into());
        }
        if !(exponent.is_finite() && exponent > 0.0) {
            return Err(format!("Zipf exponent must be > 0, not {exponent}"));
        }
        let mut z = Zipf {
            n: n as f64,
            exponent,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            s: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.s = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        Ok(z)
    }

    /// One rank in `1..=n`.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            // Uniform in (h_integral_x1, h_integral_n]: the area under the hat.
            let u = self.h_integral_n + rng.next_f64() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.s || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    /// `h(x) = x^-s`, the hat's height.
    fn h(&self, x: f64) -> f64 {
        (-self.exponent * x.ln()).exp()
    }

    /// `H(x)`, an integral of `h`: `(x^(1-s) - 1) / (1-s)`, or `ln x` when `s = 1`.
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.exponent) * log_x) * log_x
    }

    /// The inverse of [`Zipf::h_integral`].
    fn h_integral_inverse(&self, x: f64) -> f64 {
        // Rounding can push t just below -1, outside the function's domain.
        let t = (x * (1.0 - self.exponent)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// `ln(1+x)/x`, continuous at 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - x * 0.25))
    }
}

/// `(e^x - 1)/x`, continuous at 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + x * 0.25))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact probabilities of ranks 1..=n.
    fn pmf(n: u64, exponent: f64) -> Vec<f64> {
        let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-exponent)).collect();
        let total: f64 = weights.iter().sum();
        weights.iter().map(|w| w / total).collect()
    }

    /// Pearson's chi-square statistic of `samples` draws against the exact pmf.
    fn chi_square(n: u64, exponent: f64, samples: usize, seed: u64) -> f64 {
        let zipf = Zipf::new(n, exponent).expect("valid");
        let mut rng = Rng::new(seed);
        let mut counts = vec![0u64; n as usize];
        for _ in 0..samples {
            let k = zipf.sample(&mut rng);
            assert!((1..=n).contains(&k), "rank {k} out of 1..={n}");
            counts[k as usize - 1] += 1;
        }
        pmf(n, exponent)
            .iter()
            .zip(&counts)
            .map(|(p, &c)| {
                let expected = p * samples as f64;
                (c as f64 - expected).powi(2) / expected
            })
            .sum()
    }

    #[test]
    fn zipf_matches_its_distribution() {
        // 50 ranks: 49 degrees of freedom, whose chi-square 99.99th percentile is about 95.
        // A sampler off by even 2% on the head would score in the thousands at 400k draws.
        for exponent in [0.5, 0.99, 1.0, 1.2, 2.0] {
            let stat = chi_square(50, exponent, 400_000, 7);
            assert!(stat < 95.0, "exponent {exponent}: chi-square {stat}");
        }
    }

    #[test]
    fn zipf_head_is_heavy_and_tail_is_reached() {
        let n = 1_000_000;
        let zipf = Zipf::new(n, 0.99).expect("valid");
        let mut rng = Rng::new(3);
        let draws = 200_000;
        let mut top = 0;
        let mut max = 0;
        for _ in 0..draws {
            let k = zipf.sample(&mut rng);
            top += u64::from(k == 1);
            max = max.max(k);
        }
        // P(1) = 1 / H(n, 0.99) with H(10^6, 0.99) ≈ 15.4: about 6.5% of draws.
        let share = top as f64 / draws as f64;
        assert!((0.055..0.075).contains(&share), "rank 1 share {share}");
        assert!(max > n / 10, "the tail is never reached: max rank {max}");
    }

    #[test]
    fn zipf_edge_cases() {
        let one = Zipf::new(1, 0.99).expect("valid");
        let mut rng = Rng::new(1);
        assert!((0..1000).all(|_| one.sample(&mut rng) == 1));
        assert!(Zipf::new(0, 1.0).is_err());
        assert!(Zipf::new(10, 0.0).is_err());
        assert!(Zipf::new(10, f64::NAN).is_err());
        // A huge keyspace costs nothing to set up.
        let big = Zipf::new(1_000_000_000_000, 0.99).expect("valid");
        assert!((0..1000).all(|_| (1..=1_000_000_000_000).contains(&big.sample(&mut rng))));
    }

    #[test]
    fn rng_is_seeded_and_uniform() {
        let (mut a, mut b, mut c) = (Rng::new(5), Rng::new(5), Rng::new(6));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..8).map(|_| c.next_u64()).collect::<Vec<_>>());
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[a.below(10) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&n| (9_500..10_500).contains(&n)),
            "{counts:?}"
        );
        assert!((0..1000).all(|_| (0.0..1.0).contains(&a.next_f64())));
    }
}
