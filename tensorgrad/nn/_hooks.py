"""Full backward hooks of modules: the identity nodes through which a module call's inputs and
outputs pass so that tensor hooks catch their gradients (PyTorch's ``BackwardHook``)."""
from __future__ import annotations

from .. import ops
from ..errors import BackwardError
from ..tensor import Tensor


class _BackwardBoundary:
    """One call of a module with full backward hooks: its Tensor inputs and outputs pass
    through identity nodes whose tensor hooks catch the gradients; the module's hooks are
    called once the gradients of all inputs that the outputs reach have arrived."""

    def __init__(self, module):
        self.module = module
        self.inputs = ()  # the identity tensors standing for the positional arguments
        self.outputs = ()
        self._reset()

    def _reset(self):
        self.grad_inputs = [None] * len(self.inputs)
        self.grad_outputs = [None] * len(self.outputs)
        self.expected = None  # the input positions the outputs reach, found when needed
        self.arrived = set()
        self.called = False

    def wrap_inputs(self, args):
        wrapped = []
        for j, a in enumerate(args):
            wrapped.append(_caught(a, lambda g, j=j: self._input_grad(j, g)))
        self.inputs = tuple(a if isinstance(a, Tensor) and a.requires_grad else None
                            for a in wrapped)
        self._reset()
        return tuple(wrapped)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        items = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
        if items is None:
            return out
        wrapped = []
        for k, o in enumerate(items):
            wrapped.append(_caught(o, lambda g, k=k: self._output_grad(k, g)))
        self.outputs = tuple(wrapped)
        self._reset()
        if single:
            return wrapped[0]
        return type(out)(wrapped)

    def _output_grad(self, k, g):
        if self.called:
            self._reset()  # a second backward through a retained graph
        self.grad_outputs[k] = g
        if self.expected is None:
            self.expected = self._reached_inputs()
        if not self.expected and all(
                self.grad_outputs[i] is not None for i, o in enumerate(self.outputs)
                if isinstance(o, Tensor) and o.requires_grad):
            self._call_hooks(None)
        return None

    def _reached_inputs(self):
        """Positions of the wrapped inputs that a recorded path leads to from the outputs."""
        targets = {id(a): j for j, a in enumerate(self.inputs) if a is not None}
        found, seen = set(), set()
        stack = [o for o in self.outputs if isinstance(o, Tensor) and o.requires_grad]
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            if id(t) in targets:
                found.add(targets[id(t)])
                continue
            fn = t.grad_fn
            if fn is None or fn.parents is None:
                continue
            stack.extend(p for p in fn.parents if isinstance(p, Tensor) and p.requires_grad)
        return found

    def _input_grad(self, j, g):
        if self.expected is None:
            self.expected = self._reached_inputs()
        self.grad_inputs[j] = g
        self.arrived.add(j)
        if self.arrived >= self.expected:
            return self._call_hooks(j)
        return None

    def _call_hooks(self, last):
        self.called = True
        module = self.module
        grad_input = tuple(self.grad_inputs)
        grad_output = tuple(self.grad_outputs)
        for hook in list((module._backward_hooks or {}).values()):
            r = hook(module, grad_input, grad_output)
            if r is None:
                continue
            name = type(module).__name__
            if not isinstance(r, (tuple, list)) or len(r) != len(grad_input):
                raise BackwardError(
                    f"{name}: a full backward hook must return None or a tuple of "
                    f"{len(grad_input)} gradient(s) (one per positional input), got "
                    f"{type(r).__name__}" + (f" of length {len(r)}"
                                            if isinstance(r, (tuple, list)) else ""))
            if last is None and any(x is not None for x in r):
                raise BackwardError(f"{name}: no input of this call requires grad; a full "
                                    "backward hook must then return None (or all None)")
            for j, (new, old) in enumerate(zip(r, grad_input)):
                if new is old or self.inputs[j] is None:
                    continue
                if j != last:
                    raise BackwardError(
                        f"{name}: a full backward hook replaced the gradient of input {j}, "
                        f"which has already flowed on (several inputs require grad; only "
                        f"the last to receive its gradient, input {last}, can be replaced)")
                shape = self.inputs[j].shape
                if new is None or getattr(new, "shape", None) != shape:
                    raise BackwardError(
                        f"{name}: a full backward hook returned for input {j} "
                        f"{type(new).__name__} of shape {getattr(new, 'shape', None)}; "
                        f"expected a Tensor of the input's shape {shape}")
            grad_input = tuple(r)
        return None if last is None else grad_input[last]


def _caught(a, hook):
    """``a`` passed through an identity node whose gradient ``hook`` sees, when ``a`` is a
    Tensor that requires grad; anything else unchanged."""
    if isinstance(a, Tensor) and a.requires_grad:
        a = ops.reshape(a, shape=a.shape)
        a.register_hook(hook)
    return a
