//! Arrays: element addresses, loads and stores in each memory space, the
//! shared/local/constant allocations, and atomics.
//!
//! Global arrays are device addresses: an element is read through a
//! `PhysicalStorageBuffer` pointer made from `data + Σ index * stride`
//! (`bool` is a byte, a complex number two component loads). Shared, local
//! and constant arrays are variables holding *storage* elements — `u32` for
//! `bool`, 8/16-bit integers and `float32`, `u64` for `float64`, 2-vectors of
//! those for complex numbers (integers, so that atomics and compare-and-swap
//! loops work on floats, and no 8/16-bit storage capability is needed) —
//! indexed by `byte offset / itemsize`.

use hypersonic_ir::{AtomicOp, Op, Scalar, Space, Type, ValueId};
use rspirv::dr::{Instruction, Operand};
use rspirv::spirv::{Capability, Decoration, Op as O, StorageClass, Word};

use super::{
    contiguous, internal, space_of, unsupported, Alloc, Gen, R, SCOPE_DEVICE, SCOPE_WORKGROUP,
    SEM_RELAXED,
};
use crate::SPEC_DYNAMIC_SHARED_BYTES;

fn dtype_of(t: &Type) -> R<Scalar> {
    match t {
        Type::Array { dtype, .. } => Ok(*dtype),
        t => unsupported(format!("array operation on {t}")),
    }
}

/// Bytes of one storage element of a non-global array.
fn storage_size(s: Scalar) -> u64 {
    match s {
        Scalar::I64 | Scalar::U64 | Scalar::F64 | Scalar::C64 => 8,
        Scalar::C128 => 16,
        _ => 4,
    }
}

impl Gen<'_> {
    /// The element type of shared, local and constant arrays.
    pub fn storage_ty(&mut self, s: Scalar) -> Word {
        match s {
            Scalar::I64 | Scalar::U64 | Scalar::F64 => self.t_u64(),
            Scalar::C64 => {
                let u = self.t_u32();
                self.t_vec(u, 2)
            }
            Scalar::C128 => {
                let u = self.t_u64();
                self.t_vec(u, 2)
            }
            _ => self.t_u32(),
        }
    }

    pub fn storage_of(&mut self, s: Scalar, x: Word) -> R<Word> {
        let st = self.storage_ty(s);
        match s {
            Scalar::Bool => {
                let (one, zero) = (self.c_u32(1), self.c_u32(0));
                self.select(st, x, one, zero)
            }
            Scalar::I8 | Scalar::U8 | Scalar::I16 | Scalar::U16 => self.op(O::UConvert, st, &[x]),
            Scalar::F32 | Scalar::F64 | Scalar::C64 | Scalar::C128 => self.op(O::Bitcast, st, &[x]),
            _ => Ok(x),
        }
    }

    pub fn reg_of_storage(&mut self, s: Scalar, x: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        match s {
            Scalar::Bool => {
                let z = self.c_u32(0);
                self.op(O::INotEqual, t, &[x, z])
            }
            Scalar::I8 | Scalar::U8 | Scalar::I16 | Scalar::U16 => self.op(O::UConvert, t, &[x]),
            Scalar::F32 | Scalar::F64 | Scalar::C64 | Scalar::C128 => self.op(O::Bitcast, t, &[x]),
            _ => Ok(x),
        }
    }

    /// `OpSpecConstantOp` with id operands.
    fn spec_op(&mut self, ty: Word, o: O, args: &[Word]) -> Word {
        let id = self.b.id();
        let mut ops = vec![Operand::LiteralSpecConstantOpInteger(o)];
        ops.extend(args.iter().map(|a| Operand::IdRef(*a)));
        self.b
            .module_mut()
            .types_global_values
            .push(Instruction::new(O::SpecConstantOp, Some(ty), Some(id), ops));
        id
    }

    /// Spec constant 3: the launch's dynamic shared memory in bytes.
    fn spec_dynamic_bytes(&mut self) -> Word {
        if let Some(s) = self.spec_dyn {
            return s;
        }
        let u = self.t_u32();
        let c = self.b.spec_constant_bit32(u, 0);
        self.b.decorate(
            c,
            Decoration::SpecId,
            [Operand::LiteralBit32(SPEC_DYNAMIC_SHARED_BYTES)],
        );
        self.spec_dyn = Some(c);
        c
    }

    /// `x * y * z` of the block shape, as a spec constant (`u32`).
    pub fn spec_threads(&mut self) -> Word {
        if let Some(n) = self.nthreads {
            return n;
        }
        let u = self.t_u32();
        let [x, y, z] = self.spec_block;
        let xy = self.spec_op(u, O::IMul, &[x, y]);
        let n = self.spec_op(u, O::IMul, &[xy, z]);
        self.nthreads = Some(n);
        n
    }

    /// A `Workgroup` array of `len` (a constant or spec constant) elements of `elem`.
    pub fn workgroup_array(&mut self, elem: Word, len: Word) -> Word {
        let arr = self.b.type_array(elem, len);
        self.global_var(StorageClass::Workgroup, arr, None)
    }

    pub fn alloc_for(&mut self, id: ValueId) -> R<Alloc> {
        if let Some(a) = self.allocs.get(&id) {
            return Ok(*a);
        }
        let op = self
            .alloc_ops
            .get(&id)
            .cloned()
            .ok_or_else(|| internal(format!("v{} is not an allocation", id.0)))?;
        let count = |shape: &[i64]| -> R<u32> {
            let n: i64 = shape.iter().product();
            u32::try_from(n.max(1))
                .or_else(|_| unsupported(format!("array of shape {shape:?} is too large")))
        };
        let a = match &op {
            Op::SharedArray {
                dtype,
                dynamic: true,
                ..
            } => {
                if let Some(a) = self.dyn_allocs.get(dtype) {
                    *a
                } else {
                    let bytes = self.spec_dynamic_bytes();
                    let u = self.t_u32();
                    let size = self.c_u32(dtype.size());
                    let sm1 = self.c_u32(dtype.size() - 1);
                    let up = self.spec_op(u, O::IAdd, &[bytes, sm1]);
                    let q = self.spec_op(u, O::UDiv, &[up, size]);
                    let bt = self.t_bool();
                    let z = self.c_u32(0);
                    let one = self.c_u32(1);
                    let is0 = self.spec_op(bt, O::IEqual, &[q, z]);
                    let len = self.spec_op(u, O::Select, &[is0, one, q]);
                    let elem = self.storage_ty(*dtype);
                    let var = self.workgroup_array(elem, len);
                    let a = Alloc {
                        var,
                        class: StorageClass::Workgroup,
                        elem,
                    };
                    self.dyn_allocs.insert(*dtype, a);
                    a
                }
            }
            Op::SharedArray { dtype, shape, .. } => {
                let n = count(shape)?;
                let elem = self.storage_ty(*dtype);
                let len = self.c_u32(n);
                let var = self.workgroup_array(elem, len);
                self.static_shared += n as u64 * storage_size(*dtype);
                Alloc {
                    var,
                    class: StorageClass::Workgroup,
                    elem,
                }
            }
            Op::LocalArray { dtype, shape } => {
                let n = count(shape)?;
                let elem = self.storage_ty(*dtype);
                let len = self.c_u32(n);
                let arr = self.b.type_array(elem, len);
                let var = self.fn_var(arr, None);
                Alloc {
                    var,
                    class: StorageClass::Function,
                    elem,
                }
            }
            Op::ConstArray { dtype, shape, data } => {
                let n = count(shape)?;
                let elem = self.storage_ty(*dtype);
                let len = self.c_u32(n);
                let arr = self.b.type_array(elem, len);
                let size = dtype.size() as usize;
                let mut items = vec![];
                for k in 0..(data.len() / size.max(1)) {
                    let bytes = &data[k * size..(k + 1) * size];
                    items.push(self.storage_const(*dtype, bytes));
                }
                while items.len() < n as usize {
                    let z = self.b.constant_null(elem);
                    items.push(z);
                }
                let init = self.b.constant_composite(arr, items);
                let var = self.global_var(StorageClass::Private, arr, Some(init));
                Alloc {
                    var,
                    class: StorageClass::Private,
                    elem,
                }
            }
            _ => return Err(internal("not an allocation")),
        };
        self.allocs.insert(id, a);
        Ok(a)
    }

    /// A storage-element constant from little-endian bytes.
    fn storage_const(&mut self, s: Scalar, bytes: &[u8]) -> Word {
        let le = |b: &[u8]| -> u64 {
            let mut v = 0u64;
            for (i, x) in b.iter().enumerate() {
                v |= (*x as u64) << (8 * i);
            }
            v
        };
        match s {
            Scalar::C64 | Scalar::C128 => {
                let h = bytes.len() / 2;
                let half = if s == Scalar::C64 {
                    Scalar::U32
                } else {
                    Scalar::U64
                };
                let re = self.c_int(half.bits(), le(&bytes[..h]) as i64);
                let im = self.c_int(half.bits(), le(&bytes[h..]) as i64);
                let t = self.storage_ty(s);
                self.b.constant_composite(t, [re, im])
            }
            Scalar::I64 | Scalar::U64 | Scalar::F64 => self.c_u64(le(bytes)),
            Scalar::Bool => self.c_u32((le(bytes) != 0) as u32),
            _ => self.c_u32(le(bytes) as u32),
        }
    }

    /// The leaves of a new shared, local or constant array.
    pub fn allocation(&mut self, id: ValueId) -> R<Vec<Word>> {
        let op = self
            .alloc_ops
            .get(&id)
            .cloned()
            .ok_or_else(|| internal("allocation"))?;
        let (dtype, shape, dynamic) = match &op {
            Op::SharedArray {
                dtype,
                shape,
                dynamic,
            } => (*dtype, shape.clone(), *dynamic),
            Op::LocalArray { dtype, shape } | Op::ConstArray { dtype, shape, .. } => {
                (*dtype, shape.clone(), false)
            }
            _ => return Err(internal("allocation")),
        };
        self.alloc_for(id)?;
        let mut out = vec![self.c_u64(0)];
        if dynamic {
            let bytes = self.spec_dynamic_bytes();
            let u64t = self.t_u64();
            let b64 = self.op(O::UConvert, u64t, &[bytes])?;
            let size = self.c_u64(dtype.size() as u64);
            out.push(self.op(O::UDiv, u64t, &[b64, size])?);
            out.push(size);
            return Ok(out);
        }
        let nd = shape.len();
        let mut strides = vec![0i64; nd];
        let mut acc = dtype.size() as i64;
        for k in (0..nd).rev() {
            strides[k] = acc;
            acc *= shape[k];
        }
        for x in shape.iter().chain(&strides) {
            out.push(self.c_int(64, *x));
        }
        Ok(out)
    }

    /// `data + Σ indices[k] * stride[k]`: a device address, or a byte offset
    /// into a shared, local or constant allocation.
    fn element_offset(&mut self, a: ValueId, indices: &[ValueId]) -> R<Word> {
        let t = self.ty(a);
        let leaves = self.vals(a)?.to_vec();
        let nd = (leaves.len() - 1) / 2;
        if indices.len() > nd {
            return unsupported(format!("{} indices into a {nd}-d array", indices.len()));
        }
        let u64t = self.t_u64();
        let mut off = leaves[0];
        for (k, i) in indices.iter().enumerate() {
            let stride = match contiguous(t, k) {
                Some(c) => self.c_u64(c as u64),
                None => leaves[1 + nd + k],
            };
            let iv = self.v(*i)?;
            let term = self.op(O::IMul, u64t, &[iv, stride])?;
            off = self.op(O::IAdd, u64t, &[off, term])?;
        }
        Ok(off)
    }

    pub fn sub_array(&mut self, a: ValueId, indices: &[ValueId]) -> R<Vec<Word>> {
        let leaves = self.vals(a)?.to_vec();
        let nd = (leaves.len() - 1) / 2;
        let k = indices.len();
        if k >= nd {
            return unsupported(format!("a view fixing {k} axes of a {nd}-d array"));
        }
        let p = self.element_offset(a, indices)?;
        let mut out = vec![p];
        out.extend_from_slice(&leaves[1 + k..1 + nd]);
        out.extend_from_slice(&leaves[1 + nd + k..]);
        Ok(out)
    }

    /// A pointer to the storage element at byte offset `off` of a non-global array.
    fn var_elem_ptr(&mut self, a: ValueId, s: Scalar, off: Word) -> R<(Alloc, Word)> {
        let alloc = self.base_of(a)?;
        let u64t = self.t_u64();
        let sh = self.c_u64(s.size().trailing_zeros() as u64);
        let idx = self.op(O::ShiftRightLogical, u64t, &[off, sh])?;
        let pt = self.t_ptr(alloc.class, alloc.elem);
        let p = self.op(O::AccessChain, pt, &[alloc.var, idx])?;
        Ok((alloc, p))
    }

    /// The type a global element (or complex component) is accessed as.
    fn global_ty(&mut self, s: Scalar) -> Word {
        match s {
            Scalar::Bool | Scalar::I8 | Scalar::U8 => {
                self.cap(Capability::StorageBuffer8BitAccess);
                self.features.insert("storageBuffer8BitAccess");
                self.t_int(8)
            }
            Scalar::I16 | Scalar::U16 => {
                self.cap(Capability::StorageBuffer16BitAccess);
                self.features.insert("storageBuffer16BitAccess");
                self.t_int(16)
            }
            Scalar::C64 | Scalar::C128 => self.t_float(s.bits()),
            s => self.scalar_ty(s),
        }
    }

    fn global_load(&mut self, s: Scalar, addr: Word) -> R<Word> {
        let et = self.global_ty(s);
        if s.is_complex() {
            let cs = s.component().size();
            let p = self.psb_ptr(et, addr)?;
            let re = self.load(et, p, Some(cs))?;
            let u64t = self.t_u64();
            let off = self.c_u64(cs as u64);
            let a2 = self.op(O::IAdd, u64t, &[addr, off])?;
            let p2 = self.psb_ptr(et, a2)?;
            let im = self.load(et, p2, Some(cs))?;
            let vt = self.scalar_ty(s);
            return self.op(O::CompositeConstruct, vt, &[re, im]);
        }
        let p = self.psb_ptr(et, addr)?;
        let v = self.load(et, p, Some(s.size()))?;
        if s == Scalar::Bool {
            let z = self.c_int(8, 0);
            let bt = self.t_bool();
            return self.op(O::INotEqual, bt, &[v, z]);
        }
        Ok(v)
    }

    fn global_store(&mut self, s: Scalar, addr: Word, v: Word) -> R<()> {
        let et = self.global_ty(s);
        if s.is_complex() {
            let cs = s.component().size();
            let ft = et;
            let re = self.opx(
                O::CompositeExtract,
                ft,
                vec![Operand::IdRef(v), Operand::LiteralBit32(0)],
            )?;
            let im = self.opx(
                O::CompositeExtract,
                ft,
                vec![Operand::IdRef(v), Operand::LiteralBit32(1)],
            )?;
            let p = self.psb_ptr(et, addr)?;
            self.store(p, re, Some(cs))?;
            let u64t = self.t_u64();
            let off = self.c_u64(cs as u64);
            let a2 = self.op(O::IAdd, u64t, &[addr, off])?;
            let p2 = self.psb_ptr(et, a2)?;
            return self.store(p2, im, Some(cs));
        }
        let v = if s == Scalar::Bool {
            let (one, zero) = (self.c_int(8, 1), self.c_int(8, 0));
            self.select(et, v, one, zero)?
        } else {
            v
        };
        let p = self.psb_ptr(et, addr)?;
        self.store(p, v, Some(s.size()))
    }

    pub fn array_load(&mut self, a: ValueId, indices: &[ValueId]) -> R<Word> {
        let t = self.ty(a);
        let s = dtype_of(t)?;
        let off = self.element_offset(a, indices)?;
        if space_of(t) == Space::Global {
            return self.global_load(s, off);
        }
        let (alloc, p) = self.var_elem_ptr(a, s, off)?;
        let st = self.load(alloc.elem, p, None)?;
        self.reg_of_storage(s, st)
    }

    pub fn array_store(&mut self, a: ValueId, indices: &[ValueId], value: ValueId) -> R<()> {
        let t = self.ty(a);
        let s = dtype_of(t)?;
        let v = self.v(value)?;
        let off = self.element_offset(a, indices)?;
        match space_of(t) {
            Space::Global => self.global_store(s, off, v),
            Space::Constant => unsupported("a store into a constant array"),
            _ => {
                let (_, p) = self.var_elem_ptr(a, s, off)?;
                let st = self.storage_of(s, v)?;
                self.store(p, st, None)
            }
        }
    }

    // ---- atomics --------------------------------------------------------------

    /// The pointer an atomic works through (integer-typed: floats as their
    /// bits), and the scope; `None` for local arrays (thread-private: plain loads
    /// and stores).
    fn atomic_ptr(
        &mut self,
        a: ValueId,
        indices: &[ValueId],
        what: &str,
    ) -> R<(Scalar, Word, Option<u32>)> {
        let t = self.ty(a);
        let s = dtype_of(t)?;
        if !(s.is_int() || s.is_float()) || s.size() < 4 {
            return unsupported(format!(
                "{what} on {s}: atomics take int32, int64, uint32, uint64, float32 or float64"
            ));
        }
        let off = self.element_offset(a, indices)?;
        let space = space_of(t);
        let wide = s.size() == 8;
        match space {
            Space::Global => {
                if wide {
                    self.cap(Capability::Int64Atomics);
                    self.features.insert("shaderBufferInt64Atomics");
                }
                let it = self.t_int(s.bits());
                let p = self.psb_ptr(it, off)?;
                Ok((s, p, Some(SCOPE_DEVICE)))
            }
            Space::Shared => {
                if wide {
                    self.cap(Capability::Int64Atomics);
                    self.features.insert("shaderSharedInt64Atomics");
                }
                let (_, p) = self.var_elem_ptr(a, s, off)?;
                Ok((s, p, Some(SCOPE_WORKGROUP)))
            }
            Space::Local => {
                let (_, p) = self.var_elem_ptr(a, s, off)?;
                Ok((s, p, None))
            }
            Space::Constant => unsupported(format!("{what} on a constant array")),
        }
    }

    /// Bits (integer of the float's width) → register value, and back.
    fn bits_to_reg(&mut self, s: Scalar, x: Word) -> R<Word> {
        if s.is_float() {
            self.fbits_to_float(s, x)
        } else {
            Ok(x)
        }
    }
    fn reg_to_bits(&mut self, s: Scalar, x: Word) -> R<Word> {
        if s.is_float() {
            self.fbits(s, x)
        } else {
            Ok(x)
        }
    }

    /// The new value of a read-modify-write, and for float max/min the condition
    /// under which it is stored at all.
    fn rmw_value(
        &mut self,
        op: AtomicOp,
        s: Scalar,
        old: Word,
        v: Word,
    ) -> R<(Word, Option<Word>)> {
        let t = self.scalar_ty(s);
        let bt = self.t_bool();
        let bits = s.bits();
        if s.is_float() {
            return Ok(match op {
                AtomicOp::Add => (self.op(O::FAdd, t, &[old, v])?, None),
                AtomicOp::Sub => (self.op(O::FSub, t, &[old, v])?, None),
                AtomicOp::Exch => (v, None),
                AtomicOp::Max => (v, Some(self.op(O::FOrdLessThan, bt, &[old, v])?)),
                AtomicOp::Min => (v, Some(self.op(O::FOrdGreaterThan, bt, &[old, v])?)),
                _ => return unsupported(format!("atomic {op:?} on {s}")),
            });
        }
        let signed = s.is_signed_int();
        let one = self.c_int(bits, 1);
        let zero = self.c_int(bits, 0);
        Ok((
            match op {
                AtomicOp::Add => self.op(O::IAdd, t, &[old, v])?,
                AtomicOp::Sub => self.op(O::ISub, t, &[old, v])?,
                AtomicOp::And => self.op(O::BitwiseAnd, t, &[old, v])?,
                AtomicOp::Or => self.op(O::BitwiseOr, t, &[old, v])?,
                AtomicOp::Xor => self.op(O::BitwiseXor, t, &[old, v])?,
                AtomicOp::Exch => v,
                AtomicOp::Max | AtomicOp::Min => {
                    let lt = if signed { O::SLessThan } else { O::ULessThan };
                    let c = self.op(lt, bt, &[old, v])?;
                    if op == AtomicOp::Max {
                        self.select(t, c, v, old)?
                    } else {
                        self.select(t, c, old, v)?
                    }
                }
                AtomicOp::Inc => {
                    let ge = self.op(O::UGreaterThanEqual, bt, &[old, v])?;
                    let inc = self.op(O::IAdd, t, &[old, one])?;
                    self.select(t, ge, zero, inc)?
                }
                AtomicOp::Dec => {
                    let z = self.op(O::IEqual, bt, &[old, zero])?;
                    let gt = self.op(O::UGreaterThan, bt, &[old, v])?;
                    let c = self.op(O::LogicalOr, bt, &[z, gt])?;
                    let dec = self.op(O::ISub, t, &[old, one])?;
                    self.select(t, c, v, dec)?
                }
            },
            None,
        ))
    }

    /// A compare-and-swap loop: returns the old value (as a register value).
    fn cas_loop(&mut self, s: Scalar, p: Word, scope: u32, op: AtomicOp, v: Word) -> R<Word> {
        let it = self.t_int(s.bits());
        let sc = self.c_u32(scope);
        let sem = self.c_u32(SEM_RELAXED);
        let old0 = self.op(O::AtomicLoad, it, &[p, sc, sem])?;
        let pre = self.current_label()?;
        let (header, body, attempt, cont, merge) = (
            self.new_label(),
            self.new_label(),
            self.new_label(),
            self.new_label(),
            self.new_label(),
        );
        let old_bits = self.b.id();
        let seen = self.b.id();
        self.branch(header)?;
        self.begin(header)?;
        self.phi(it, old_bits, &[(old0, pre), (seen, cont)])?;
        self.loop_merge(merge, cont)?;
        self.branch(body)?;
        self.begin(body)?;
        let old = self.bits_to_reg(s, old_bits)?;
        let (new, go) = self.rmw_value(op, s, old, v)?;
        match go {
            Some(go) => self.branch_cond(go, attempt, merge)?,
            None => self.branch(attempt)?,
        }
        self.begin(attempt)?;
        let nb = self.reg_to_bits(s, new)?;
        self.op_id(
            O::AtomicCompareExchange,
            it,
            seen,
            &[p, sc, sem, sem, nb, old_bits],
        )?;
        let bt = self.t_bool();
        let ok = self.op(O::IEqual, bt, &[seen, old_bits])?;
        self.branch_cond(ok, merge, cont)?;
        self.begin(cont)?;
        self.branch(header)?;
        self.begin(merge)?;
        Ok(old)
    }

    pub fn atomic(
        &mut self,
        op: AtomicOp,
        a: ValueId,
        indices: &[ValueId],
        value: ValueId,
    ) -> R<Word> {
        let (s, p, scope) = self.atomic_ptr(a, indices, &format!("atomic {op:?}"))?;
        let v = self.v(value)?;
        let Some(scope) = scope else {
            // A local array: no other thread sees it.
            let st = self.storage_ty(s);
            let old_st = self.load(st, p, None)?;
            let old = self.reg_of_storage(s, old_st)?;
            let (new, go) = self.rmw_value(op, s, old, v)?;
            let new = match go {
                Some(go) => {
                    let t = self.scalar_ty(s);
                    self.select(t, go, new, old)?
                }
                None => new,
            };
            let ns = self.storage_of(s, new)?;
            self.store(p, ns, None)?;
            return Ok(old);
        };
        let t = self.scalar_ty(s);
        let sc = self.c_u32(scope);
        let sem = self.c_u32(SEM_RELAXED);
        let global = space_of(self.ty(a)) == Space::Global;
        if s.is_float() {
            let native = global
                && matches!(op, AtomicOp::Add | AtomicOp::Sub)
                && if s == Scalar::F32 {
                    self.opts.atomic_float32_add
                } else {
                    self.opts.atomic_float64_add
                };
            if native {
                self.ext_name("SPV_EXT_shader_atomic_float_add");
                if s == Scalar::F32 {
                    self.cap(Capability::AtomicFloat32AddEXT);
                    self.features.insert("shaderBufferFloat32AtomicAdd");
                } else {
                    self.cap(Capability::AtomicFloat64AddEXT);
                    self.features.insert("shaderBufferFloat64AtomicAdd");
                }
                let off = self.element_offset(a, indices)?;
                let fp = self.psb_ptr(t, off)?;
                let v = if op == AtomicOp::Sub {
                    self.op(O::FNegate, t, &[v])?
                } else {
                    v
                };
                return self.op(O::AtomicFAddEXT, t, &[fp, sc, sem, v]);
            }
            if op == AtomicOp::Exch {
                let it = self.t_int(s.bits());
                let vb = self.fbits(s, v)?;
                let old = self.op(O::AtomicExchange, it, &[p, sc, sem, vb])?;
                return self.fbits_to_float(s, old);
            }
            return self.cas_loop(s, p, scope, op, v);
        }
        let signed = s.is_signed_int();
        let o = match op {
            AtomicOp::Add => O::AtomicIAdd,
            AtomicOp::Sub => O::AtomicISub,
            AtomicOp::And => O::AtomicAnd,
            AtomicOp::Or => O::AtomicOr,
            AtomicOp::Xor => O::AtomicXor,
            AtomicOp::Exch => O::AtomicExchange,
            AtomicOp::Max if signed => O::AtomicSMax,
            AtomicOp::Max => O::AtomicUMax,
            AtomicOp::Min if signed => O::AtomicSMin,
            AtomicOp::Min => O::AtomicUMin,
            AtomicOp::Inc | AtomicOp::Dec => return self.cas_loop(s, p, scope, op, v),
        };
        self.op(o, t, &[p, sc, sem, v])
    }

    pub fn atomic_cas(
        &mut self,
        a: ValueId,
        indices: &[ValueId],
        expected: ValueId,
        desired: ValueId,
    ) -> R<Word> {
        let (s, p, scope) = self.atomic_ptr(a, indices, "atomic compare-and-swap")?;
        let (e, d) = (self.v(expected)?, self.v(desired)?);
        let it = self.t_int(s.bits());
        let eb = self.reg_to_bits(s, e)?;
        let db = self.reg_to_bits(s, d)?;
        let Some(scope) = scope else {
            let old = self.load(it, p, None)?;
            let bt = self.t_bool();
            let eq = self.op(O::IEqual, bt, &[old, eb])?;
            let new = self.select(it, eq, db, old)?;
            self.store(p, new, None)?;
            return self.bits_to_reg(s, old);
        };
        let sc = self.c_u32(scope);
        let sem = self.c_u32(SEM_RELAXED);
        let old = self.op(O::AtomicCompareExchange, it, &[p, sc, sem, sem, db, eb])?;
        self.bits_to_reg(s, old)
    }
}
