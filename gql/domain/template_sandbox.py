"""Jinja2's sandbox with a budget: staff write email templates, and anonymous actions
(a registration) render them, so one template must not be able to keep a process busy
or fill its memory.

Jinja's own sandbox keeps templates away from Python internals, but not from work:
nested `range` loops, `'x' * 10**9`, a macro calling itself twice per level, a string
doubled in a loop through a `namespace`. Here every render carries a `Budget`:

- steps: each loop iteration, call (macros, methods, `range`) and filter takes one;
- a deadline, checked with every step;
- sizes: no value a template builds (a product, sum, concatenation, call or filter
  result, namespace attribute) may exceed `MAX_VALUE` characters, checked before the
  value is built where Python would build it in one go (`*`, `**`, `~`, `replace`,
  `join`), and all the text a template emits, in macros and blocks too, is counted.

Loops and emitted text are counted by rewriting the parsed template (`_parse`): each
`for` iterates through the `_budget_iter` filter, each piece of output passes
`_budget_emit`, each `~` goes through `_budget_concat`. Filters, unlike globals, can
not be redefined by a template, so a template can not switch the counting off.
Constant folding at compile time is off (`optimized=False`), else `{{ 'x' * 10**9 }}`
would be computed while the template is compiled, before any budget applies.

Builders of text whose size is a number (`center`, `zfill`, `format`, `%`, `lipsum`,
...) are not available (`wordwrap` and `indent` are, checked): an email has no use for them. Only
the methods in SAFE_METHODS may be called on Python's own values (strings, numbers,
lists, dicts), those whose result is at most a few times their object.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, ValuesView
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, nodes
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_environment, pass_eval_context

MAX_STEPS = 10_000  # loop iterations, calls and filters of one render
MAX_RANGE = MAX_STEPS
MAX_VALUE = 100_000  # characters (or items) of any one value a template builds
MAX_EMITTED = 1_000_000  # characters emitted in all, macros and blocks included
MAX_OUTPUT = MAX_VALUE  # characters of one rendered part
MAX_DEPTH = 20  # nested macro calls
MAX_INT_BITS = 4_096
MAX_WORK = 1_000_000  # items looked at to weigh values, in all
MAX_NESTING = 50  # lists in lists
CONTAINERS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
MAX_SECONDS = 1.0
# Characters of one part's source: compiling takes about 0.1 s per 1,000 tags, so this
# bounds compiling too (which `mail.render_off_loop` keeps off the event loop).
MAX_SOURCE = 50_000

# Methods of Python's own values a template may call: those whose result is at most a
# few times their object. Not `center`, `ljust`, `zfill`, `expandtabs`, `format`,
# `translate`, `int.to_bytes`, whose result size is an argument, nor `join` and
# `replace` (the filters of the same name are checked).
BUILTIN_TYPES = (str, bytes, int, float, list, tuple, dict, set, frozenset, range)
SAFE_METHODS = frozenset(
    {"split", "rsplit", "splitlines", "partition", "rpartition"}  # pieces
    | {"strip", "lstrip", "rstrip", "removeprefix", "removesuffix"}  # shorter
    | {"lower", "upper", "title", "capitalize", "casefold", "swapcase"}  # as long
    | {"startswith", "endswith", "find", "rfind", "count", "index", "rindex"}  # answers
    | {"isalpha", "isalnum", "isdigit", "isspace", "islower", "isupper"}  # answers
    | {"get", "items", "keys", "values"}  # of dicts
    | {"striptags", "unescape"}  # of Markup, shorter
)
# Filters whose result size is set by an argument (a width, a string put at every link),
# and `sum`, which adds lists in quadratic time; `wordwrap` and `indent`, useful in plain
# text, are checked instead.
REFUSED_FILTERS = frozenset({"center", "format", "tojson", "urlize", "sum"})


class BudgetExceeded(SecurityError):
    """A template asked for more work or memory than one email may take."""


@dataclass
class Budget:
    steps: int = 0
    emitted: int = 0
    work: int = 0
    depth: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(f"more than {MAX_STEPS:,} loop iterations and calls")
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"it takes longer than {MAX_SECONDS:g} s")

    def weigh(self, items: int) -> None:
        self.work += items
        if self.work > MAX_WORK:
            raise BudgetExceeded(f"its values have more than {MAX_WORK:,} items to weigh")

    def emit(self, size: int) -> None:
        self.emitted += size
        if self.emitted > MAX_EMITTED:
            raise BudgetExceeded(f"it emits more than {MAX_EMITTED:,} characters")


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def current() -> Budget:
    budget = _budget.get()
    if budget is None:  # only `render` below renders with these environments
        raise RuntimeError("a bounded template rendered outside render()")
    return budget


def weight(value: Any, nesting: int = 0) -> int:
    """About how many characters `value` takes as text (what `str(value)` or a join
    would build), worked out without building it: a list of one 100,000-character
    string repeated 100,000 times is 100,000 items but 10**10 characters. Weighing a
    container costs its length in the budget's work; it stops once over MAX_VALUE."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, Namespace):  # prints all its attributes
        value = object.__getattribute__(value, "_Namespace__attrs")
    if isinstance(value, dict):
        value = value.items()
    if not isinstance(value, CONTAINERS):
        return 8  # floats, None, macros, ranges, generators: short as text
    if nesting > MAX_NESTING:
        raise BudgetExceeded(f"values nested more than {MAX_NESTING} deep")
    current().weigh(len(value))
    total = 4 * len(value)  # quotes, commas, spaces
    for item in value:
        total += weight(item, nesting + 1)
        if total > MAX_VALUE:
            break
    return total


def check_size(value: Any) -> Any:
    """`value`, unless it would be more than MAX_VALUE characters as text, or is an
    integer of more than MAX_INT_BITS bits."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise BudgetExceeded(f"a number of more than {MAX_INT_BITS:,} bits")
    if weight(value) > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} characters")
    return value


def _sized(value: Any) -> int | None:
    """The weight of a string or sequence (what `+` and `*` repeat), else None."""
    return weight(value) if isinstance(value, str | bytes | list | tuple) else None


def _estimate(operator: str, left: Any, right: Any) -> tuple[int, int]:
    """Length (of a string or list) and bits (of an integer) of `left operator right`,
    worked out before Python builds it."""
    left_size, right_size = _sized(left), _sized(right)
    if operator == "+" and left_size is not None and right_size is not None:
        return left_size + right_size, 0
    if operator == "*" and left_size is not None and isinstance(right, int):
        return left_size * right, 0
    if operator == "*" and right_size is not None and isinstance(left, int):
        return right_size * left, 0
    if operator == "*" and isinstance(left, int) and isinstance(right, int):
        return 0, left.bit_length() + right.bit_length()
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
        return 0, right * left.bit_length()
    return 0, 0


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse what would be too large before Python builds it."""
    if operator == "%" and isinstance(left, str | bytes):
        raise SecurityError("%-formatting is not available in email templates")
    length, bits = _estimate(operator, left, right)
    if length > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} characters")
    if bits > MAX_INT_BITS:
        raise BudgetExceeded(f"a number of more than {MAX_INT_BITS:,} bits")


class BoundedNamespace(Namespace):
    """`namespace()` whose attributes are size-checked: it is the one object a template
    can grow across loop iterations."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, check_size(value))


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise BudgetExceeded(f"a range of more than {MAX_RANGE:,} numbers")
    return numbers


def _budget_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = current()
    for item in iterable:
        budget.step()
        yield item


def _budget_emit(value: Any) -> Any:
    current().emit(weight(check_size(value)))
    return value


def _budget_emit_text(size: int) -> str:
    """Counts the template's own text that follows it (left to Jinja to emit)."""
    current().emit(size)
    return ""


@pass_eval_context
def _budget_concat(eval_ctx: EvalContext, values: list[Any]) -> str:
    if weight(values) > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} characters")
    return markup_join(values) if eval_ctx.autoescape else str_join(values)


@pass_eval_context
def _replace(
    eval_ctx: EvalContext, value: Any, old: str, new: str, count: int | None = None
) -> Any:
    text = str(check_size(value))
    hits = text.count(old) if count is None else min(count, text.count(old))
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} characters")
    return jinja_filters.do_replace(eval_ctx, value, old, new, count)


@pass_eval_context
def _join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> Any:
    items = list(_budget_iter(value))
    if weight(items) + len(d) * len(items) > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} characters")
    return jinja_filters.do_join(eval_ctx, items, d, attribute)


def _check_lines(text: str, lines: int, per_line: int) -> None:
    if len(text) + lines * per_line > MAX_VALUE:
        raise BudgetExceeded(f"a value of more than {MAX_VALUE:,} characters")


@pass_environment
def _wordwrap(environment: Environment, s: str, width: int = 79, *args: Any, **kwargs: Any) -> str:
    text = str(check_size(s))
    wrap = kwargs.get("wrapstring") or (args[1] if len(args) > 1 else None)
    wrap = wrap or environment.newline_sequence
    lines = len(text) // max(width, 1) + text.count("\n") + 1
    _check_lines(text, lines, len(str(check_size(wrap))))
    return jinja_filters.do_wordwrap(environment, s, width, *args, **kwargs)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    text = str(check_size(s))
    per_line = len(str(check_size(width))) if isinstance(width, str) else width
    _check_lines(text, text.count("\n") + 1, per_line)
    return jinja_filters.do_indent(s, width, first, blank)


def _counted_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_eval_context mark
    def counted(*args: Any, **kwargs: Any) -> Any:
        current().step()
        for argument in (*args, *kwargs.values()):
            # A count (`slice(10**9)|list`) is never larger than a value may be.
            if isinstance(argument, int) and argument > MAX_VALUE:
                raise BudgetExceeded(f"a number larger than {MAX_VALUE:,} given to {name}")
            check_size(argument)  # `[big, big, big]|string` would build them all
        return check_size(function(*args, **kwargs))

    return counted


def _through(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _counted(output: nodes.Expr) -> list[nodes.Expr]:
    """One piece of output, counted as it is emitted."""
    if isinstance(output, nodes.TemplateData):  # the template's own text, left as it is
        size = nodes.Const(len(output.data), lineno=output.lineno)
        return [_through(size, "_budget_emit_text"), output]
    return [_through(output, "_budget_emit")]


def _rewrite(template: nodes.Template) -> nodes.Template:
    """Route loops, output and `~` through the counting filters."""
    for loop in template.find_all(nodes.For):
        loop.iter = _through(loop.iter, "_budget_iter")
    for output in template.find_all(nodes.Output):
        output.nodes = [counted for child in output.nodes for counted in _counted(child)]
    for concat in list(template.find_all(nodes.Concat)):
        concat.nodes = [_through(nodes.List(concat.nodes, lineno=concat.lineno), "_budget_concat")]
    return template


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox (immutable: no `list.append` to grow a value) with the budget."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=autoescape, optimized=False)
        self.filters = {
            name: _counted_filter(name, function)
            for name, function in self.filters.items()
            if name not in REFUSED_FILTERS
        }
        self.filters["replace"] = _counted_filter("replace", _replace)
        self.filters["join"] = _counted_filter("join", _join)
        self.filters["wordwrap"] = _counted_filter("wordwrap", _wordwrap)
        self.filters["indent"] = _counted_filter("indent", _indent)
        self.filters["_budget_iter"] = _budget_iter
        self.filters["_budget_emit"] = _budget_emit
        self.filters["_budget_emit_text"] = _budget_emit_text
        self.filters["_budget_concat"] = _budget_concat
        self.globals = {
            "range": bounded_range,
            "namespace": BoundedNamespace,
            "dict": self.globals["dict"],
            "cycler": self.globals["cycler"],
            "joiner": self.globals["joiner"],
        }  # no `lipsum`: its size is a number

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _rewrite(super()._parse(source, name, filename))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, BUILTIN_TYPES) and callable(value) and attr not in SAFE_METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> None:
        """None: `format` is refused (is_safe_attribute), not wrapped, since its width
        (`'{:>999999999}'`) is part of the string."""
        return None

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current().step()
        _check_binop(operator, left, right)
        return check_size(super().call_binop(context, operator, left, right))

    def call(
        __self,  # noqa: N805 - jinja's signature: keyword arguments may be named `self`
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        budget = current()
        budget.step()
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                raise BudgetExceeded(f"calls nested more than {MAX_DEPTH} deep")
            return check_size(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1


@functools.lru_cache(maxsize=64)
def _compiled(environment: BoundedEnvironment, source: str) -> Template:
    """Compiled once per source: a portal's templates are rendered again and again."""
    return environment.from_string(source)


def render(environment: BoundedEnvironment, source: str, variables: dict[str, Any]) -> str:
    """`source` rendered within a fresh budget.

    Raises:
        BudgetExceeded: the template needs more than the budget.
        jinja2.TemplateError: it does not compile or fails otherwise.
    """
    if len(source) > MAX_SOURCE:
        raise BudgetExceeded(f"it is longer than {MAX_SOURCE:,} characters")
    template = _compiled(environment, source)
    token = _budget.set(Budget())
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise BudgetExceeded(f"its output is longer than {MAX_OUTPUT:,} characters")
            parts.append(chunk)
        return "".join(parts)
    finally:
        _budget.reset(token)
