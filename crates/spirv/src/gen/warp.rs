//! Thread geometry, barriers, fences, block reductions and warp functions
//! (see the crate documentation for the three warp modes).

use hypersonic_ir::{Axis, BarrierReduce, FenceScope, Geometry, Scalar, Shuffle, ValueId, Vote};
use rspirv::dr::Operand;
use rspirv::spirv::{BuiltIn, Capability, Op as O, StorageClass, Word};

use super::{
    internal, Gen, R, SCOPE_DEVICE, SCOPE_SUBGROUP, SCOPE_WORKGROUP, SEM_ACQ_REL, SEM_RELAXED,
    SEM_UNIFORM, SEM_WORKGROUP,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Subgroups of exactly 32 lanes.
    Native,
    /// Subgroups of a multiple of 32 lanes: each 32-lane part is a warp.
    Parts,
    /// Smaller subgroups: a workgroup-memory exchange.
    Emulated,
}

impl Gen<'_> {
    fn mode(&self) -> Mode {
        let n = self.opts.subgroup_size;
        if crate::prepare::emulated_warps(n) {
            Mode::Emulated
        } else if n == 32 {
            Mode::Native
        } else {
            Mode::Parts
        }
    }

    fn builtin_u32(&mut self, bi: BuiltIn) -> R<Word> {
        let u = self.t_u32();
        let var = self.builtin(bi, u);
        self.load(u, var, None)
    }

    fn builtin_axis(&mut self, bi: BuiltIn, axis: Axis) -> R<Word> {
        let u = self.t_u32();
        let v3 = self.t_vec(u, 3);
        let var = self.builtin(bi, v3);
        let pt = self.t_ptr(StorageClass::Input, u);
        let k = self.c_u32(axis.index() as u32);
        let p = self.op(O::AccessChain, pt, &[var, k])?;
        self.load(u, p, None)
    }

    pub fn geometry(&mut self, g: Geometry, axis: Axis) -> R<Word> {
        match g {
            Geometry::ThreadIdx => self.builtin_axis(BuiltIn::LocalInvocationId, axis),
            Geometry::BlockIdx => self.builtin_axis(BuiltIn::WorkgroupId, axis),
            Geometry::GridDim => self
                .grid_dims
                .map(|d| d[axis.index()])
                .ok_or_else(|| internal("gridDim read but not in the push constants")),
            Geometry::BlockDim => Ok(self.spec_block[axis.index()]),
        }
    }

    fn subgroup_id(&mut self) -> R<Word> {
        self.uses_subgroups = true;
        self.cap(Capability::GroupNonUniform);
        self.features.insert("subgroupBasic");
        self.builtin_u32(BuiltIn::SubgroupLocalInvocationId)
    }

    fn linear_tid(&mut self) -> R<Word> {
        self.builtin_u32(BuiltIn::LocalInvocationIndex)
    }

    pub fn lane_id(&mut self) -> R<Word> {
        let u = self.t_u32();
        let m = self.c_u32(31);
        let id = match self.mode() {
            Mode::Native => return self.subgroup_id(),
            Mode::Parts => self.subgroup_id()?,
            Mode::Emulated => self.linear_tid()?,
        };
        self.op(O::BitwiseAnd, u, &[id, m])
    }

    fn control_barrier(&mut self, exec: u32, mem: u32, sem: u32) -> R<()> {
        let (e, m, s) = (self.c_u32(exec), self.c_u32(mem), self.c_u32(sem));
        self.op_void(
            O::ControlBarrier,
            vec![Operand::IdRef(e), Operand::IdRef(m), Operand::IdRef(s)],
        )
    }

    /// `cuda.syncthreads()`: the block waits; shared and global writes before it
    /// are visible after it.
    pub fn barrier(&mut self) -> R<()> {
        self.control_barrier(
            SCOPE_WORKGROUP,
            SCOPE_WORKGROUP,
            SEM_ACQ_REL | SEM_WORKGROUP | SEM_UNIFORM,
        )
    }

    pub fn fence(&mut self, scope: FenceScope) -> R<()> {
        let sc = match scope {
            FenceScope::Block => SCOPE_WORKGROUP,
            FenceScope::Device | FenceScope::System => SCOPE_DEVICE,
        };
        let (m, s) = (
            self.c_u32(sc),
            self.c_u32(SEM_ACQ_REL | SEM_WORKGROUP | SEM_UNIFORM),
        );
        self.op_void(O::MemoryBarrier, vec![Operand::IdRef(m), Operand::IdRef(s)])
    }

    pub fn sync_warp(&mut self) -> R<()> {
        match self.mode() {
            Mode::Emulated => self.barrier(),
            _ => {
                self.uses_subgroups = true;
                self.control_barrier(
                    SCOPE_SUBGROUP,
                    SCOPE_WORKGROUP,
                    SEM_ACQ_REL | SEM_WORKGROUP | SEM_UNIFORM,
                )
            }
        }
    }

    /// `syncthreads_count/and/or`: a workgroup counter reset by thread 0, then
    /// one atomic add per counted thread, between barriers.
    pub fn barrier_reduce(&mut self, k: BarrierReduce, pred: ValueId) -> R<Word> {
        let p = self.v(pred)?;
        let u = self.t_u32();
        let counter = match self.reduce_counter {
            Some(c) => c,
            None => {
                let c = self.global_var(StorageClass::Workgroup, u, None);
                self.static_shared += 4;
                self.reduce_counter = Some(c);
                c
            }
        };
        let bt = self.t_bool();
        let zero = self.c_u32(0);
        let one = self.c_u32(1);
        self.barrier()?;
        let tid = self.linear_tid()?;
        let first = self.op(O::IEqual, bt, &[tid, zero])?;
        self.if_then(first, |g| g.store(counter, zero, None))?;
        self.barrier()?;
        // `and` counts the threads whose predicate fails.
        let counted = if k == BarrierReduce::And {
            self.op(O::LogicalNot, bt, &[p])?
        } else {
            p
        };
        let sc = self.c_u32(SCOPE_WORKGROUP);
        let sem = self.c_u32(SEM_RELAXED);
        self.if_then(counted, |g| {
            g.op(O::AtomicIAdd, u, &[counter, sc, sem, one])?;
            Ok(())
        })?;
        self.barrier()?;
        let n = self.load(u, counter, None)?;
        Ok(match k {
            BarrierReduce::Count => n,
            BarrierReduce::And => {
                let c = self.op(O::IEqual, bt, &[n, zero])?;
                self.select(u, c, one, zero)?
            }
            BarrierReduce::Or => {
                let c = self.op(O::INotEqual, bt, &[n, zero])?;
                self.select(u, c, one, zero)?
            }
        })
    }

    /// The exchange buffer of emulated warps: one `u64` per thread of the block.
    fn exchange(&mut self) -> Word {
        if let Some(x) = self.xch {
            return x;
        }
        let n = self.spec_threads();
        let u64t = self.t_u64();
        let x = self.workgroup_array(u64t, n);
        self.per_thread_shared = 8;
        self.xch = Some(x);
        x
    }

    fn xch_ptr(&mut self, idx: Word) -> R<Word> {
        let x = self.exchange();
        let u64t = self.t_u64();
        let pt = self.t_ptr(StorageClass::Workgroup, u64t);
        self.op(O::AccessChain, pt, &[x, idx])
    }

    /// The source lane (`0..32`) of a shuffle, as PTX's `shfl.sync` computes it
    /// (`c` = `((32 - width) << 8) | 0x1f`, or without the clamp for `up`).
    fn shuffle_lane(&mut self, kind: Shuffle, lane: Word, b: Word, width: Word) -> R<Word> {
        let u = self.t_u32();
        let bt = self.t_bool();
        let c31 = self.c_u32(31);
        let c32 = self.c_u32(32);
        let bval = self.op(O::BitwiseAnd, u, &[b, c31])?;
        let seg = self.op(O::ISub, u, &[c32, width])?;
        let seg = self.op(O::BitwiseAnd, u, &[seg, c31])?;
        let not_seg = self.op(O::Not, u, &[seg])?;
        let clamp = self.op(O::BitwiseAnd, u, &[c31, not_seg])?;
        let min_lane = self.op(O::BitwiseAnd, u, &[lane, seg])?;
        let max_lane = if kind == Shuffle::Up {
            min_lane
        } else {
            self.op(O::BitwiseOr, u, &[min_lane, clamp])?
        };
        let (j, ok) = match kind {
            Shuffle::Up => {
                let j = self.op(O::ISub, u, &[lane, bval])?;
                (j, self.op(O::SGreaterThanEqual, bt, &[j, max_lane])?)
            }
            Shuffle::Down => {
                let j = self.op(O::IAdd, u, &[lane, bval])?;
                (j, self.op(O::SLessThanEqual, bt, &[j, max_lane])?)
            }
            Shuffle::Xor => {
                let j = self.op(O::BitwiseXor, u, &[lane, bval])?;
                (j, self.op(O::SLessThanEqual, bt, &[j, max_lane])?)
            }
            Shuffle::Idx => {
                let lo = self.op(O::BitwiseAnd, u, &[bval, not_seg])?;
                let j = self.op(O::BitwiseOr, u, &[min_lane, lo])?;
                (j, self.op(O::SLessThanEqual, bt, &[j, max_lane])?)
            }
        };
        self.select(u, ok, j, lane)
    }

    pub fn shuffle(
        &mut self,
        kind: Shuffle,
        _mask: ValueId,
        value: ValueId,
        lane_v: ValueId,
        width: ValueId,
    ) -> R<Word> {
        let s = self.scalar_of(value)?;
        let v = self.v(value)?;
        let (b, w) = (self.v(lane_v)?, self.v(width)?);
        let u = self.t_u32();
        let u64t = self.t_u64();
        let t = self.scalar_ty(s);
        if !(s.size() == 4 || s.size() == 8) || s.is_complex() {
            return super::unsupported(format!("warp shuffle of {s}"));
        }
        match self.mode() {
            Mode::Emulated => {
                let tid = self.linear_tid()?;
                let c31 = self.c_u32(31);
                let lane = self.op(O::BitwiseAnd, u, &[tid, c31])?;
                let nc31 = self.op(O::Not, u, &[c31])?;
                let base = self.op(O::BitwiseAnd, u, &[tid, nc31])?;
                let bits = self.u64_bits_of(s, v)?;
                let mine = self.xch_ptr(tid)?;
                self.store(mine, bits, None)?;
                self.barrier()?;
                let j = self.shuffle_lane(kind, lane, b, w)?;
                let src = self.op(O::IAdd, u, &[base, j])?;
                let n = self.spec_threads();
                let bt = self.t_bool();
                let inside = self.op(O::ULessThan, bt, &[src, n])?;
                let src = self.select(u, inside, src, tid)?;
                let p = self.xch_ptr(src)?;
                let r = self.load(u64t, p, None)?;
                self.barrier()?;
                self.reg_of_u64_bits(s, r)
            }
            mode => {
                self.cap(Capability::GroupNonUniformShuffle);
                self.features.insert("subgroupShuffle");
                let sid = self.subgroup_id()?;
                let c31 = self.c_u32(31);
                let lane = self.op(O::BitwiseAnd, u, &[sid, c31])?;
                let j = self.shuffle_lane(kind, lane, b, w)?;
                let src = if mode == Mode::Parts {
                    let nc31 = self.op(O::Not, u, &[c31])?;
                    let part = self.op(O::BitwiseAnd, u, &[sid, nc31])?;
                    self.op(O::BitwiseOr, u, &[part, j])?
                } else {
                    j
                };
                let scope = self.c_u32(SCOPE_SUBGROUP);
                if s.size() == 4 {
                    return self.op(O::GroupNonUniformShuffle, t, &[scope, v, src]);
                }
                // 64-bit values as two 32-bit lanes.
                let uv2 = self.t_vec(u, 2);
                let halves = self.op(O::Bitcast, uv2, &[v])?;
                let r = self.op(O::GroupNonUniformShuffle, uv2, &[scope, halves, src])?;
                self.op(O::Bitcast, t, &[r])
            }
        }
    }

    fn u64_bits_of(&mut self, s: Scalar, v: Word) -> R<Word> {
        let u64t = self.t_u64();
        Ok(match s {
            Scalar::F64 | Scalar::I64 | Scalar::U64 => {
                if s == Scalar::F64 {
                    self.op(O::Bitcast, u64t, &[v])?
                } else {
                    v
                }
            }
            Scalar::F32 => {
                let u = self.t_u32();
                let b = self.op(O::Bitcast, u, &[v])?;
                self.op(O::UConvert, u64t, &[b])?
            }
            _ => self.op(O::UConvert, u64t, &[v])?,
        })
    }

    fn reg_of_u64_bits(&mut self, s: Scalar, r: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        Ok(match s {
            Scalar::F64 => self.op(O::Bitcast, t, &[r])?,
            Scalar::I64 | Scalar::U64 => r,
            Scalar::F32 => {
                let u = self.t_u32();
                let b = self.op(O::UConvert, u, &[r])?;
                self.op(O::Bitcast, t, &[b])?
            }
            _ => self.op(O::UConvert, t, &[r])?,
        })
    }

    /// The warp's ballot of `pred` and the mask of its existing lanes.
    fn ballot(&mut self, pred: Word) -> R<(Word, Word)> {
        let u = self.t_u32();
        let bt = self.t_bool();
        match self.mode() {
            Mode::Emulated => {
                let u64t = self.t_u64();
                let tid = self.linear_tid()?;
                let c31 = self.c_u32(31);
                let nc31 = self.op(O::Not, u, &[c31])?;
                let base = self.op(O::BitwiseAnd, u, &[tid, nc31])?;
                let (one64, zero64) = (self.c_u64(1), self.c_u64(0));
                let bit = self.select(u64t, pred, one64, zero64)?;
                let mine = self.xch_ptr(tid)?;
                self.store(mine, bit, None)?;
                self.barrier()?;
                let n = self.spec_threads();
                let mut ballot = self.c_u32(0);
                let mut active = self.c_u32(0);
                let zero = self.c_u32(0);
                for k in 0..32u32 {
                    let kc = self.c_u32(k);
                    let src = self.op(O::IAdd, u, &[base, kc])?;
                    let inside = self.op(O::ULessThan, bt, &[src, n])?;
                    let idx = self.select(u, inside, src, tid)?;
                    let p = self.xch_ptr(idx)?;
                    let x = self.load(u64t, p, None)?;
                    let x = self.op(O::UConvert, u, &[x])?;
                    let x = self.select(u, inside, x, zero)?;
                    let kbit = self.c_u32(k);
                    let sh = self.op(O::ShiftLeftLogical, u, &[x, kbit])?;
                    ballot = self.op(O::BitwiseOr, u, &[ballot, sh])?;
                    let one_k = self.c_u32(1 << k);
                    let a = self.select(u, inside, one_k, zero)?;
                    active = self.op(O::BitwiseOr, u, &[active, a])?;
                }
                self.barrier()?;
                Ok((ballot, active))
            }
            mode => {
                self.cap(Capability::GroupNonUniformBallot);
                self.features.insert("subgroupBallot");
                let sid = self.subgroup_id()?;
                let uv4 = self.t_vec(u, 4);
                let scope = self.c_u32(SCOPE_SUBGROUP);
                let tru = self.c_bool(true);
                let b = self.op(O::GroupNonUniformBallot, uv4, &[scope, pred])?;
                let a = self.op(O::GroupNonUniformBallot, uv4, &[scope, tru])?;
                let (b, a) = if mode == Mode::Parts {
                    let c5 = self.c_u32(5);
                    let part = self.op(O::ShiftRightLogical, u, &[sid, c5])?;
                    (
                        self.op(O::VectorExtractDynamic, u, &[b, part])?,
                        self.op(O::VectorExtractDynamic, u, &[a, part])?,
                    )
                } else {
                    let ex = |g: &mut Self, v: Word| {
                        g.opx(
                            O::CompositeExtract,
                            u,
                            vec![Operand::IdRef(v), Operand::LiteralBit32(0)],
                        )
                    };
                    (ex(self, b)?, ex(self, a)?)
                };
                Ok((b, a))
            }
        }
    }

    pub fn vote(&mut self, kind: Vote, mask: ValueId, pred: ValueId) -> R<Word> {
        let m = self.v(mask)?;
        let p = self.v(pred)?;
        let u = self.t_u32();
        let bt = self.t_bool();
        let zero = self.c_u32(0);
        let (ballot, active) = self.ballot(p)?;
        let masked = self.op(O::BitwiseAnd, u, &[ballot, m])?;
        match kind {
            Vote::Ballot => Ok(masked),
            Vote::Any => self.op(O::INotEqual, bt, &[masked, zero]),
            Vote::All => {
                let nb = self.op(O::Not, u, &[ballot])?;
                let need = self.op(O::BitwiseAnd, u, &[m, active])?;
                let missing = self.op(O::BitwiseAnd, u, &[nb, need])?;
                self.op(O::IEqual, bt, &[missing, zero])
            }
        }
    }
}
