//! One table or view → its row and model structs, the `ormkit::entity!` description of its
//! SQL side, and its module of typed constants. The plan decides everything; each emitter
//! writes one kind of item from it.

mod columns;
mod describe;
mod models;
mod plan;
mod row;

use super::Ctx;
use crate::error::Result;
use ormkit_schema::Relation;
use plan::TablePlan;
use proc_macro2::TokenStream;

pub(crate) use columns::imports;
pub(crate) use plan::{accessor_name, origin_type};

pub(super) fn render(ctx: &Ctx<'_>, relation: &Relation) -> Result<TokenStream> {
    let plan = TablePlan::new(ctx, relation)?;
    let mut out = row::render(ctx, &plan);
    out.extend(models::render(ctx, &plan));
    out.extend(describe::render(ctx, &plan));
    out.extend(columns::render(ctx, &plan)?);
    Ok(out)
}
