"""A small, safe expression language for policy rule conditions and derived features.

An expression is compiled once (:func:`compile_expression`) into two trees of Python closures: one
evaluates a single row (a mapping of dotted fact names to values), the other a whole
``pandas.DataFrame`` column-wise. Both give the same result for every row, bit for bit.

Grammar, lowest to highest precedence::

    or                      a or b
    and                     a and b
    not (prefix)            not a
    comparison              == != < <= > >= in, not in     (non-associative)
    additive                + -
    multiplicative          * / %
    unary minus             -a
    primary                 literal, name, function call, ( expr )

Literals are numbers (``3``, ``0.35``, ``1e3``), strings in single or double quotes (escapes ``\\"``,
``\\'``, ``\\\\``, ``\\n``, ``\\t``), ``true``, ``false`` and ``null``. A list literal (``[1, 2]``,
``["a", "b"]``) may only appear on the right of ``in`` / ``not in``, as may a parameter whose value is a
list. A name without a dot (``max_dti``) is a *parameter*, replaced by its value at compile time; a
dotted name (``applicant.age``) is a *fact*, read from the row or the frame when evaluated. The
functions are ``min``, ``max``, ``abs``, ``round``, ``coalesce``, ``is_missing`` and ``is_present``.

Semantics. Values are numbers (always float64; integers are converted, booleans are *not* numbers),
strings, booleans and MISSING (``None``; NaN, ``pd.NA`` and ``pd.NaT`` read as MISSING too).
Arithmetic, comparisons, ``min``/``max``/``abs``/``round`` and ``in`` give MISSING when an operand is
MISSING; a division or modulo by zero, and a result that is NaN, is MISSING. ``and``, ``or`` and
``not`` follow Kleene's three-valued logic and short-circuit: the right side is evaluated only where
the left side does not decide, and ``coalesce`` evaluates its arguments only until one is present.
Type errors (``1 and true``, ``"a" < 1``, ``"a" + 1``) raise :class:`ExpressionTypeError` when they are
evaluated; ``==``/``!=`` between values of different types are simply false/true.

Nothing here calls ``eval``/``exec``/``compile``, and neither numpy nor pandas is imported until a
frame is evaluated, so the online Lambda functions can use this package without loading them.

Modules, in the order an expression flows through them: ``lexer`` (text to tokens), ``parser``
(tokens to the typed tree of ``syntax``), ``scalar`` (tree to a one-row evaluator), ``column``
(tree to a DataFrame evaluator, numpy and pandas imported lazily), ``compiled`` (the public API);
``values`` and ``errors`` are shared by all of them.
"""

from lendguard.policy.expr.compiled import CompiledExpression, compile_expression
from lendguard.policy.expr.errors import ExpressionError, ExpressionTypeError
from lendguard.policy.expr.values import MISSING

__all__ = [
    "MISSING",
    "CompiledExpression",
    "ExpressionError",
    "ExpressionTypeError",
    "compile_expression",
]
