//! Packing launch arguments into 8-byte slots (see [`crate::abi`]).

/// A kernel's argument slots, built one argument at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelArgs {
    slots: Vec<u64>,
}

impl KernelArgs {
    pub fn new() -> KernelArgs {
        KernelArgs::default()
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.slots.push(v as u64);
        self
    }

    /// Any integer of at most 64 bits, sign- or zero-extended by the caller.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.slots.push(v);
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.slots.push(v as u32 as u64);
        self
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.slots.push(v.to_bits());
        self
    }

    /// In the low four bytes of the slot.
    pub fn f32(&mut self, v: f32) -> &mut Self {
        self.slots.push(v.to_bits() as u64);
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.slots.push(v as u64);
        self
    }

    /// One slot: the real part, then the imaginary part, as `f32`.
    pub fn c64(&mut self, re: f32, im: f32) -> &mut Self {
        self.slots
            .push(re.to_bits() as u64 | (im.to_bits() as u64) << 32);
        self
    }

    /// Two slots: the real part, then the imaginary part.
    pub fn c128(&mut self, re: f64, im: f64) -> &mut Self {
        self.slots.push(re.to_bits());
        self.slots.push(im.to_bits());
        self
    }

    /// An array: its data address, its shape, its strides in bytes.
    pub fn array(&mut self, data: u64, shape: &[i64], strides: &[i64]) -> &mut Self {
        assert_eq!(
            shape.len(),
            strides.len(),
            "an array has as many strides as dimensions"
        );
        self.slots.push(data);
        self.slots.extend(shape.iter().map(|&d| d as u64));
        self.slots.extend(strides.iter().map(|&s| s as u64));
        self
    }

    /// A C-contiguous array of elements of `itemsize` bytes.
    pub fn contiguous_array(&mut self, data: u64, shape: &[i64], itemsize: i64) -> &mut Self {
        let mut strides = vec![0i64; shape.len()];
        let mut stride = itemsize;
        for (s, &d) in strides.iter_mut().zip(shape).rev() {
            *s = stride;
            stride *= d.max(1);
        }
        self.array(data, shape, &strides)
    }

    pub fn as_slice(&self) -> &[u64] {
        &self.slots
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_slots() {
        let mut a = KernelArgs::new();
        a.i64(-1)
            .f32(1.5)
            .c64(1.0, 2.0)
            .c128(3.0, 4.0)
            .contiguous_array(0x1000, &[2, 3], 8);
        let s = a.as_slice();
        assert_eq!(s[0], u64::MAX);
        assert_eq!(s[1], 1.5f32.to_bits() as u64);
        assert_eq!(s[2] as u32, 1.0f32.to_bits());
        assert_eq!((s[2] >> 32) as u32, 2.0f32.to_bits());
        assert_eq!(f64::from_bits(s[3]), 3.0);
        assert_eq!(f64::from_bits(s[4]), 4.0);
        assert_eq!(&s[5..], &[0x1000, 2, 3, 24, 8]);
    }
}
