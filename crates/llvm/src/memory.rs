//! Arrays and tuples.
//!
//! Element addresses are `data + Σ index_k * stride_k` in bytes (NumPy's strides).
//! When the layout is `C` (or `F`) the innermost (outermost) stride is the element
//! size as a constant, which is what lets LLVM see unit-stride accesses and
//! vectorise loops over them.

use hypersonic_ir::{Scalar, Type, ValueId};
use inkwell::values::{
    BasicValue, BasicValueEnum, InstructionValue, IntValue, PointerValue, StructValue,
};
use inkwell::IntPredicate as IP;

use crate::function::{unsupported, FnGen, R};
use crate::simt::loop_hints::ThreadLoopId;
use crate::types;

impl<'a, 'ctx> FnGen<'a, 'ctx> {
    fn array_of(&self, a: ValueId) -> R<(StructValue<'ctx>, Scalar, u8)> {
        match self.ty(a) {
            Type::Array { dtype, ndim, .. } => Ok((self.v(a)?.into_struct_value(), *dtype, *ndim)),
            t => unsupported(format!("array operation on {t}")),
        }
    }

    fn check_axis(&self, ndim: u8, k: u8) -> R<()> {
        if k < ndim {
            Ok(())
        } else {
            unsupported(format!("axis {k} of a {ndim}-d array"))
        }
    }

    pub(crate) fn array_dim(&mut self, a: ValueId, k: u8) -> R<BasicValueEnum<'ctx>> {
        let (arr, _, ndim) = self.array_of(a)?;
        self.check_axis(ndim, k)?;
        let shape = self.b.build_extract_value(arr, 1, "")?.into_array_value();
        Ok(self.b.build_extract_value(shape, k as u32, "shape")?)
    }

    /// The stride as NumPy reports it (`a.strides[k]`), read from the array.
    pub(crate) fn array_stride(&mut self, a: ValueId, k: u8) -> R<IntValue<'ctx>> {
        let (arr, _, ndim) = self.array_of(a)?;
        self.check_axis(ndim, k)?;
        let strides = self.b.build_extract_value(arr, 2, "")?.into_array_value();
        Ok(self
            .b
            .build_extract_value(strides, k as u32, "stride")?
            .into_int_value())
    }

    /// The stride to address elements with: the element size as a constant on
    /// the contiguous axis of a C or F array, so that loops vectorise. (NumPy may
    /// store any stride for an axis of length 1 in a contiguous array, so this is
    /// not always what `a.strides` says, but it addresses the same elements.)
    fn addressing_stride(&mut self, a: ValueId, k: u8) -> R<IntValue<'ctx>> {
        let (_, dtype, ndim) = self.array_of(a)?;
        self.check_axis(ndim, k)?;
        if self.ty(a).contiguous_axis() == Some(k) {
            return Ok(self.m.ctx.i64_type().const_int(dtype.size() as u64, false));
        }
        self.array_stride(a, k)
    }

    /// The data pointer advanced by `Σ indices[k] * stride[k]` over the first axes.
    pub(crate) fn element_ptr(&mut self, a: ValueId, indices: &[ValueId]) -> R<PointerValue<'ctx>> {
        let (arr, _, ndim) = self.array_of(a)?;
        if indices.len() > ndim as usize {
            return unsupported(format!("{} indices into a {ndim}-d array", indices.len()));
        }
        let data = self
            .b
            .build_extract_value(arr, 0, "data")?
            .into_pointer_value();
        let mut offset: Option<IntValue<'ctx>> = None;
        for (k, i) in indices.iter().enumerate() {
            let stride = self.addressing_stride(a, k as u8)?;
            let idx = self.v(*i)?.into_int_value();
            // Indices are in bounds, so no product or sum overflows.
            let term = self.b.build_int_nsw_mul(idx, stride, "")?;
            offset = Some(match offset {
                None => term,
                Some(o) => self.b.build_int_nsw_add(o, term, "")?,
            });
        }
        Ok(match offset {
            None => data,
            // SAFETY (for LLVM): the front end guarantees in-bounds indices, so the
            // address stays inside the array's allocation.
            Some(o) => unsafe {
                self.b
                    .build_in_bounds_gep(self.m.ctx.i8_type(), data, &[o], "elt")?
            },
        })
    }

    pub(crate) fn array_load(
        &mut self,
        a: ValueId,
        indices: &[ValueId],
    ) -> R<BasicValueEnum<'ctx>> {
        let (_, dtype, ndim) = self.array_of(a)?;
        if indices.len() != ndim as usize {
            return unsupported(format!("{} indices into a {ndim}-d array", indices.len()));
        }
        let p = self.element_ptr(a, indices)?;
        self.load_scalar_in(p, dtype, self.parallel_loop())
    }

    pub(crate) fn array_store(&mut self, a: ValueId, indices: &[ValueId], value: ValueId) -> R<()> {
        let (_, dtype, ndim) = self.array_of(a)?;
        if indices.len() != ndim as usize {
            return unsupported(format!("{} indices into a {ndim}-d array", indices.len()));
        }
        let p = self.element_ptr(a, indices)?;
        let v = self.v(value)?;
        self.store_scalar_in(p, dtype, v, self.parallel_loop())
    }

    /// Inside a CPU thread loop, the loop whose iterations (threads) the
    /// user's array accesses do not depend on each other through (see
    /// `simt::loop_hints`).
    fn parallel_loop(&self) -> Option<ThreadLoopId> {
        self.simt.as_ref()?.parallel_loop
    }

    fn mark(&self, parallel: Option<ThreadLoopId>, access: Option<InstructionValue<'ctx>>) {
        if let (Some(id), Some(inst)) = (parallel, access) {
            id.mark_parallel(self.m.ctx, inst);
        }
    }

    /// Loads one scalar from memory (bool from a byte, complex component-wise).
    pub(crate) fn load_scalar(&self, p: PointerValue<'ctx>, s: Scalar) -> R<BasicValueEnum<'ctx>> {
        self.load_scalar_in(p, s, None)
    }

    fn load_scalar_in(
        &self,
        p: PointerValue<'ctx>,
        s: Scalar,
        parallel: Option<ThreadLoopId>,
    ) -> R<BasicValueEnum<'ctx>> {
        let ctx = self.m.ctx;
        if s.is_complex() {
            let f = types::float(ctx, s);
            let re = self.b.build_load(f, p, "re")?;
            let off = ctx.i64_type().const_int(s.component().size() as u64, false);
            let pi = unsafe { self.b.build_in_bounds_gep(ctx.i8_type(), p, &[off], "")? };
            let im = self.b.build_load(f, pi, "im")?;
            align(re, s.component().size());
            align(im, s.component().size());
            self.mark(parallel, re.as_instruction_value());
            self.mark(parallel, im.as_instruction_value());
            return self.make_pair(types::complex(ctx, s), re, im);
        }
        let v = self.b.build_load(types::mem_scalar(ctx, s), p, "")?;
        align(v, s.size());
        self.mark(parallel, v.as_instruction_value());
        if s == Scalar::Bool {
            let byte = v.into_int_value();
            return Ok(self
                .b
                .build_int_compare(IP::NE, byte, byte.get_type().const_zero(), "")?
                .into());
        }
        Ok(v)
    }

    pub(crate) fn store_scalar(
        &self,
        p: PointerValue<'ctx>,
        s: Scalar,
        v: BasicValueEnum<'ctx>,
    ) -> R<()> {
        self.store_scalar_in(p, s, v, None)
    }

    fn store_scalar_in(
        &self,
        p: PointerValue<'ctx>,
        s: Scalar,
        v: BasicValueEnum<'ctx>,
        parallel: Option<ThreadLoopId>,
    ) -> R<()> {
        let ctx = self.m.ctx;
        if s.is_complex() {
            let (re, im) = self.parts(v.into_struct_value())?;
            let off = ctx.i64_type().const_int(s.component().size() as u64, false);
            let pi = unsafe { self.b.build_in_bounds_gep(ctx.i8_type(), p, &[off], "")? };
            let a = self.b.build_store(p, re)?;
            let b = self.b.build_store(pi, im)?;
            let _ = a.set_alignment(s.component().size());
            let _ = b.set_alignment(s.component().size());
            self.mark(parallel, Some(a));
            self.mark(parallel, Some(b));
            return Ok(());
        }
        let v = if s == Scalar::Bool {
            self.b
                .build_int_z_extend(v.into_int_value(), ctx.i8_type(), "")?
                .into()
        } else {
            v
        };
        let st = self.b.build_store(p, v)?;
        let _ = st.set_alignment(s.size());
        self.mark(parallel, Some(st));
        Ok(())
    }

    pub(crate) fn sub_array(
        &mut self,
        a: ValueId,
        indices: &[ValueId],
        rt: &Type,
    ) -> R<BasicValueEnum<'ctx>> {
        let (arr, _, ndim) = self.array_of(a)?;
        let k = indices.len();
        if k >= ndim as usize {
            return unsupported(format!("a view fixing {k} axes of a {ndim}-d array"));
        }
        let rest = ndim - k as u8;
        let p = self.element_ptr(a, indices)?;
        let shape = self.b.build_extract_value(arr, 1, "")?.into_array_value();
        let i64t = self.m.ctx.i64_type();
        let dims_t = i64t.array_type(rest as u32);
        let mut new_shape = dims_t.get_undef();
        let mut new_strides = dims_t.get_undef();
        for j in 0..rest {
            let src = k as u32 + j as u32;
            let d = self.b.build_extract_value(shape, src, "")?;
            let st = self.array_stride(a, src as u8)?;
            new_shape = self
                .b
                .build_insert_value(new_shape, d, j as u32, "")?
                .into_array_value();
            new_strides = self
                .b
                .build_insert_value(new_strides, st, j as u32, "")?
                .into_array_value();
        }
        let t = types::ty(self.m.ctx, rt).into_struct_type();
        let s = self.b.build_insert_value(t.get_undef(), p, 0, "")?;
        let s = self
            .b
            .build_insert_value(s.into_struct_value(), new_shape, 1, "")?;
        let s = self
            .b
            .build_insert_value(s.into_struct_value(), new_strides, 2, "")?;
        Ok(s.as_basic_value_enum())
    }

    /// A tuple item at a run-time position: a chain of selects, which stays in
    /// registers (the front end has checked the index).
    pub(crate) fn tuple_index(&mut self, t: ValueId, i: ValueId) -> R<BasicValueEnum<'ctx>> {
        let n = match self.ty(t) {
            Type::Tuple(items) if !items.is_empty() => items.len(),
            ty => return unsupported(format!("dynamic index into {ty}")),
        };
        let agg = self.v(t)?.into_struct_value();
        let idx = self.v(i)?.into_int_value();
        let mut r = self.b.build_extract_value(agg, 0, "")?;
        for k in 1..n {
            let item = self.b.build_extract_value(agg, k as u32, "")?;
            let here = self.b.build_int_compare(
                IP::EQ,
                idx,
                idx.get_type().const_int(k as u64, false),
                "",
            )?;
            r = self.b.build_select(here, item, r, "")?;
        }
        Ok(r)
    }
}

fn align(v: BasicValueEnum, bytes: u32) {
    if let Some(i) = v.as_instruction_value() {
        let _ = i.set_alignment(bytes);
    }
}
