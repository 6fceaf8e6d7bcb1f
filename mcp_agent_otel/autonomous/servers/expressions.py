"""A safe arithmetic evaluator: Python's ``ast`` parser, a whitelist walker, no ``eval``.

Numbers, ``+ - * / // % **`` (``^`` is read as a power, as on a calculator), parentheses,
the constants ``pi``, ``e``, ``tau`` and a fixed set of math functions. Anything else
(names, attributes, subscripts, comprehensions, strings, lambdas...) is refused with a
message that says what is allowed. Work is bounded: expression length, nesting depth,
exponent and factorial sizes, and the size of integer results.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Final

from mcp_agent_otel.errors import InputError

MAX_EXPRESSION_CHARS: Final = 1000
MAX_DEPTH: Final = 50
MAX_EXPONENT: Final = 10_000
MAX_INT_BITS: Final = 4096
MAX_FACTORIAL: Final = 300

Number = int | float


class ExpressionError(InputError):
    """The expression cannot be evaluated; the message says why and what is allowed."""


def _factorial(x: Number) -> Number:
    if isinstance(x, float) and not x.is_integer():
        raise ExpressionError(f"factorial needs a whole number, got {x}")
    n = int(x)
    if n < 0 or n > MAX_FACTORIAL:
        raise ExpressionError(f"factorial is limited to 0..{MAX_FACTORIAL}, got {n}")
    return math.factorial(n)


def _round(x: Number, digits: Number = 0) -> Number:
    return round(x, int(digits))


FUNCTIONS: Final[dict[str, Callable[..., Number]]] = {
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,  # log(x) natural, log(x, base)
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": _factorial,
    "degrees": math.degrees,
    "radians": math.radians,
    "hypot": math.hypot,
}
CONSTANTS: Final[dict[str, float]] = {"pi": math.pi, "e": math.e, "tau": math.tau}

_BINARY: Final[dict[type[ast.operator], Callable[[Number, Number], Number]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: Final[dict[type[ast.unaryop], Callable[[Number], Number]]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_ALLOWED = (
    "numbers, + - * / // % ** (or ^), parentheses, the constants pi, e, tau and the functions "
    + ", ".join(sorted(FUNCTIONS))
)


def _check_int(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"the result is too large (more than {MAX_INT_BITS} bits)")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ExpressionError(f"exponents are limited to ±{MAX_EXPONENT}, got {exponent}")
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and max(base.bit_length(), 1) * exponent > MAX_INT_BITS * 2
    ):
        raise ExpressionError(f"the result is too large (more than {MAX_INT_BITS} bits)")
    result = base**exponent
    if isinstance(result, complex):
        raise ExpressionError(
            f"{base} ** {exponent} has no real result (a negative number to a fractional power)"
        )
    return result


def _evaluate(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"{node.value!r} is not a number; allowed: {_ALLOWED}")
        return node.value
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ExpressionError(f"unknown name {node.id!r}; allowed: {_ALLOWED}")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, depth + 1)
        right = _evaluate(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _check_int(_power(left, right))
        if (
            isinstance(node.op, ast.Mult)
            and isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1
        ):
            raise ExpressionError(f"the result is too large (more than {MAX_INT_BITS} bits)")
        return _check_int(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = ast.unparse(node.func)
            raise ExpressionError(f"unknown function {shown!r}; allowed: {_ALLOWED}")
        if node.keywords:
            raise ExpressionError(f"{node.func.id}() takes positional arguments only")
        args = [_evaluate(a, depth + 1) for a in node.args]
        try:
            return _check_int(FUNCTIONS[node.func.id](*args))
        except TypeError as exc:
            raise ExpressionError(f"{node.func.id}(): {exc}") from None
    raise ExpressionError(
        f"{ast.unparse(node)!r} is not allowed in an arithmetic expression; allowed: {_ALLOWED}"
    )


def evaluate(expression: str) -> Number:
    """The value of an arithmetic ``expression``; ``ExpressionError`` says what is wrong."""
    text = expression.strip()
    if not text:
        raise ExpressionError("the expression is empty: pass arithmetic such as '2 * (3 + 4)'")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"the expression is {len(text)} characters; the limit is {MAX_EXPRESSION_CHARS}"
        )
    text = text.replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else "too deeply nested"
        raise ExpressionError(
            f"cannot parse {expression!r}: {reason}; write arithmetic such as '2 * (3 + 4) / 5'"
        ) from None
    try:
        value = _evaluate(tree, 0)
    except ZeroDivisionError:
        raise ExpressionError(f"division by zero in {expression!r}") from None
    except OverflowError:
        raise ExpressionError(f"the result of {expression!r} is too large for a float") from None
    except ValueError as exc:
        if isinstance(exc, ExpressionError):
            raise
        raise ExpressionError(f"math domain error in {expression!r}: {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"the result of {expression!r} is not a finite number ({value})")
    return value
