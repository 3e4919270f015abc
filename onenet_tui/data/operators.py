"""Operators and their roles (R14, SPEC section 7)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from onenet_tui.data import audit
from onenet_tui.data.context import Context
from onenet_tui.data.models import Operator
from onenet_tui.data.policy import Action, enforce
from onenet_tui.data.schemas import NewOperator
from onenet_tui.data.unit import change


def add_operator(ctx: Context, data: NewOperator) -> Operator:
    """Register an operator, or change the role of an existing one."""
    enforce(Action.ADD_OPERATOR, ctx.actor.role)
    with change(ctx) as session:
        operator = session.execute(select(Operator).where(col(Operator.name) == data.name)).scalar_one_or_none()
        previous = operator.role if operator else None
        if operator is None:
            operator = Operator(name=data.name, role=data.role)
            session.add(operator)
        else:
            operator.role = data.role
        audit.record(
            session,
            ctx.actor,
            "operator.add",
            data.name,
            role=data.role,
            previous_role=previous,
            changed=audit.changes({"role": previous}, {"role": data.role}),
        )
        return operator


def list_operators(ctx: Context) -> list[Operator]:
    with ctx.store.read() as session:
        return list(session.execute(select(Operator).order_by(Operator.name)).scalars())
