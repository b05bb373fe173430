"""``torch.einsum``: Einstein summation over any subscripts, with implicit
and explicit outputs and ``...``. Each operand's dims are aligned to one
order of all labels (a view: permute and size-1 dims), the operands are
multiplied with broadcasting, and the labels not in the output are summed
out. Differentiable through those ops. (A pairwise contraction order, as
opt_einsum chooses, would use less memory for large products.)"""

# Subscript k of the sublist form is _LETTERS[k], as in torch/functional.py.
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _parse(equation, operands):
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if len(terms) < len(operands) else
                         "einsum(): fewer operands were provided than specified in the equation")
    # `...` becomes labels of their own, as many as the broadcast needs.
    ell_dims = 0
    for term, op in zip(terms, operands):
        if "..." in term:
            ell_dims = max(ell_dims, op.dim() - (len(term) - 3))
    used = set("".join(terms) + output) - set(".")
    spare = [c for c in _LETTERS if c not in used][:ell_dims]
    ell = "".join(spare)
    expanded = []
    for term, op in zip(terms, operands):
        if "..." in term:
            n = op.dim() - (len(term) - 3)
            term = term.replace("...", ell[ell_dims - n:] if n else "")
        if len(term) != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match "
                               f"the number of dimensions ({op.dim()}) for operand {len(expanded)}"
                               f"{' and no ellipsis was given' if '...' not in term else ''}")
        for c in term:
            if c not in _LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index {equation.index(c)} in the equation "
                                   "string, subscripts must be in [a-zA-Z]")
        expanded.append(term)
    if arrow:
        output = output.replace("...", ell)
        for c in output:
            if output.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in "".join(expanded):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   "operand")
    else:
        counts = {}
        for c in "".join(expanded):
            counts[c] = counts.get(c, 0) + 1
        output = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return expanded, output


def _diagonal_labels(op, term):
    """Repeated labels in one term (``"ii"``) take the diagonal."""
    while len(set(term)) < len(term):
        for i, c in enumerate(term):
            j = term.find(c, i + 1)
            if j >= 0:
                op = op.diagonal(0, i, j)
                term = term[:i] + term[i + 1:j] + term[j + 1:] + c
                break
    return op, term


def _sublist_equation(args):
    """PyTorch's sublist form ``einsum(op1, sublist1, op2, sublist2, ...,
    [sublist_out])`` (subscripts are ints in [0, 52) or ``...``) as an
    equation and its operands."""
    def term(sublist):
        letters = []
        for k in sublist:
            if k is Ellipsis:
                letters.append("...")
            elif not 0 <= k < len(_LETTERS):
                raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
            else:
                letters.append(_LETTERS[k])
        return "".join(letters)

    pairs = len(args) // 2
    equation = ",".join(term(s) for s in args[1:2 * pairs:2])
    if len(args) % 2:
        equation += "->" + term(args[-1])
    return equation, args[0:2 * pairs:2]


def einsum(*args):
    """``torch.einsum(equation, *operands)``; the operands may also be
    given as one list, or in the sublist form ``einsum(op1, [0, 1], op2,
    [1, 2], [0, 2])``. ValueError without operands; RuntimeError/ValueError
    with PyTorch's wording for malformed equations."""
    equation, operands = (args[0], args[1:]) if args else (None, ())
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, output = _parse(equation, operands)
    ops = []
    for op, term in zip(operands, terms):
        op, term = _diagonal_labels(op, term)
        ops.append((op, term))
    labels = output + "".join(sorted(set("".join(t for _, t in ops)) - set(output)))
    sizes = {}
    aligned = []
    for op, term in ops:
        for c, n in zip(term, op.shape):
            seen = sizes.get(c, 1)
            if seen not in (1, n) and n != 1:
                raise RuntimeError("einsum(): operands do not broadcast with remapped shapes (original->remapped)")
            sizes[c] = n if seen == 1 else seen  # a size-0 label stays 0
        order = [term.index(c) for c in labels if c in term]
        view = op.permute(*order) if order else op
        shape = [op.shape[term.index(c)] if c in term else 1 for c in labels]
        aligned.append(view.reshape(shape))
    product = aligned[0]
    for a in aligned[1:]:
        product = product * a
    contracted = list(range(len(output), len(labels)))
    if contracted:
        product = product.sum(contracted)
    return product.expand(*[sizes.get(c, 1) for c in output]) if output else product


__all__ = ["einsum"]
