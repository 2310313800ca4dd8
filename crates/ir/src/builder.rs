//! Building a [`Function`] statement by statement, with nested blocks.

use crate::ops::*;
use crate::types::Type;

/// Builds one function. Statements go into the innermost open block;
/// [`FunctionBuilder::open_block`] / [`FunctionBuilder::close_block`] nest.
pub struct FunctionBuilder {
    func: Function,
    blocks: Vec<Block>,
    loc: Loc,
}

impl FunctionBuilder {
    pub fn new(name: impl Into<String>, params: Vec<Type>, ret: Type) -> Self {
        FunctionBuilder {
            func: Function {
                name: name.into(),
                params,
                ret,
                locals: Vec::new(),
                values: Vec::new(),
                body: Block::default(),
            },
            blocks: vec![Block::default()],
            loc: Loc::default(),
        }
    }

    /// The source location given to the statements that follow.
    pub fn set_loc(&mut self, loc: Loc) {
        self.loc = loc;
    }

    pub fn loc(&self) -> Loc {
        self.loc
    }

    pub fn set_ret(&mut self, ret: Type) {
        self.func.ret = ret;
    }

    pub fn add_local(&mut self, name: impl Into<String>, ty: Type) -> LocalId {
        self.func.locals.push(Local {
            name: name.into(),
            ty,
        });
        LocalId(self.func.locals.len() as u32 - 1)
    }

    pub fn local_type(&self, l: LocalId) -> &Type {
        &self.func.locals[l.0 as usize].ty
    }

    pub fn value_type(&self, v: ValueId) -> &Type {
        &self.func.values[v.0 as usize]
    }

    /// Emits `let v: ty = op` and returns `v`.
    pub fn emit(&mut self, op: Op, ty: Type) -> ValueId {
        self.func.values.push(ty);
        let value = ValueId(self.func.values.len() as u32 - 1);
        let loc = self.loc;
        self.push(Stmt::Let { value, op, loc });
        value
    }

    pub fn push(&mut self, stmt: Stmt) {
        self.blocks
            .last_mut()
            .expect("an open block")
            .stmts
            .push(stmt);
    }

    pub fn open_block(&mut self) {
        self.blocks.push(Block::default());
    }

    pub fn close_block(&mut self) -> Block {
        assert!(self.blocks.len() > 1, "close_block without open_block");
        self.blocks.pop().unwrap()
    }

    /// Whether the innermost open block already ends in a jump.
    pub fn is_terminated(&self) -> bool {
        matches!(
            self.blocks.last().and_then(|b| b.stmts.last()),
            Some(Stmt::Break | Stmt::Continue | Stmt::Return { .. } | Stmt::Raise { .. })
        )
    }

    pub fn finish(mut self) -> Function {
        assert_eq!(self.blocks.len(), 1, "unclosed blocks");
        self.func.body = self.blocks.pop().unwrap();
        self.func
    }
}
