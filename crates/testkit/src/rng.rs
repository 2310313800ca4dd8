//! Deterministic pseudo-random inputs (xorshift64*): the same seed gives the
//! same inputs on every machine. Every generator avoids zero, so that a kernel
//! that never writes (or reads nothing) cannot pass by accident.

/// A small deterministic generator.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d);
        if r.0 == 0 {
            r.0 = 1;
        }
        r.next_u64();
        r
    }
    /// 64 random bits (may be zero: for bytes and bits, not for values).
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform in `lo..hi`, never 0.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo < hi && (lo, hi) != (0, 1));
        loop {
            let x = lo + self.below((hi - lo) as u64) as i64;
            if x != 0 {
                return x;
            }
        }
    }
    /// Uniform in `[-1, 1)`, never 0.
    pub fn f64(&mut self) -> f64 {
        loop {
            let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            if x != 0.0 {
                return x;
            }
        }
    }
    /// Uniform in `[lo, hi)`, never 0.
    pub fn f64_in(&mut self, lo: f64, hi: f64) -> f64 {
        loop {
            let x = lo + (self.f64() + 1.0) * 0.5 * (hi - lo);
            if x != 0.0 && x < hi {
                return x;
            }
        }
    }
    /// A nonzero multiple of 1/8 in `[-64, 64]`: sums of a few thousand of
    /// them are exact in float32 and float64, in any order.
    pub fn eighth(&mut self) -> f64 {
        self.int(-512, 513) as f64 / 8.0
    }
    /// `n` values of `f`.
    pub fn vec<T>(&mut self, n: usize, mut f: impl FnMut(&mut Rng) -> T) -> Vec<T> {
        (0..n).map(|_| f(self)).collect()
    }
    /// `n` bytes (zeros possible: for memory tests).
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_never_zero() {
        let (mut a, mut b) = (Rng::new(0), Rng::new(0));
        assert_eq!(a.vec(100, Rng::f64), b.vec(100, Rng::f64));
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert_ne!(r.f64(), 0.0);
            assert_ne!(r.eighth(), 0.0);
            assert_ne!(r.int(-1, 2), 0);
            let x = r.f64_in(0.5, 2.0);
            assert!((0.5..2.0).contains(&x), "{x}");
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
