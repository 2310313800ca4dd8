//! Calls between compiled functions: the callee returns a status, which the
//! caller re-raises by returning it unchanged.

use hypersonic_ir::{FuncId, Type, ValueId};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum};
use inkwell::IntPredicate as IP;

use crate::function::{unsupported, FnGen, R};
use crate::{types, CodegenError};

impl<'a, 'ctx> FnGen<'a, 'ctx> {
    pub(crate) fn call(&mut self, fid: FuncId, args: &[ValueId]) -> R<BasicValueEnum<'ctx>> {
        let Some(callee_ir) = self.m.ir.functions.get(fid.0 as usize) else {
            return unsupported(format!("call of unknown function @{}", fid.0));
        };
        let callee = self.m.funcs[fid.0 as usize];
        if callee_ir.params.len() != args.len() {
            return unsupported(format!(
                "call of `{}` with {} arguments",
                callee_ir.name,
                args.len()
            ));
        }
        let ctx = self.m.ctx;
        let ret_t = types::ty(ctx, &callee_ir.ret);
        let slot = self.entry_alloca(ret_t, "ret")?;
        let mut argv: Vec<BasicMetadataValueEnum> = vec![slot.into()];
        for a in args {
            argv.push(self.v(*a)?.into());
        }
        let status = self
            .b
            .build_call(callee, &argv, "status")?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm("callee returned void".into()))?
            .into_int_value();
        let zero = ctx.i32_type().const_zero();
        let ok = self.b.build_int_compare(IP::EQ, status, zero, "ok")?;
        // Errors are rare: tell the optimiser so the happy path stays straight-line.
        let ok = self
            .intrinsic(
                "llvm.expect",
                &[ctx.bool_type().into()],
                &[ok.into(), ctx.bool_type().const_int(1, false).into()],
            )?
            .into_int_value();
        let ok_bb = self.new_block("call_ok");
        let err_bb = self.new_block("call_err");
        self.b.build_conditional_branch(ok, ok_bb, err_bb)?;
        self.b.position_at_end(err_bb);
        self.b.build_return(Some(&status))?;
        self.b.position_at_end(ok_bb);
        if callee_ir.ret == Type::None {
            return Ok(ret_t.const_zero());
        }
        Ok(self.b.build_load(ret_t, slot, "")?)
    }

    /// An alloca at the top of the entry block, where mem2reg/SROA look for them.
    pub(crate) fn entry_alloca(
        &self,
        t: inkwell::types::BasicTypeEnum<'ctx>,
        name: &str,
    ) -> R<inkwell::values::PointerValue<'ctx>> {
        let entry = self
            .func
            .get_first_basic_block()
            .ok_or_else(|| CodegenError::Llvm("function without entry block".into()))?;
        let b = self.m.ctx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => b.position_before(&i),
            None => b.position_at_end(entry),
        }
        Ok(b.build_alloca(t, name)?)
    }
}
