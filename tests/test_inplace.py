"""In-place changes (PyTorch's rules), version counters, the read-only protection of the
leaves a retained graph saved, and casts that end the graph. docs/inplace_and_versions.md
states what is and is not detected; each statement there has a test here."""
import gc
import importlib

import numpy as np
import pytest
from threads import run_in_threads

import tensorgrad as tg
from tensorgrad import nn, optim

LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation"

# The in-place operations, each as (name, call, NumPy's result for x = [1, 2, 4]).
X0 = np.array([1.0, 2.0, 4.0])
OTHER = np.array([0.5, -1.0, 2.0])
IN_PLACE = [
    ("iadd", lambda t: t.__iadd__(OTHER), X0 + OTHER),
    ("isub", lambda t: t.__isub__(OTHER), X0 - OTHER),
    ("imul", lambda t: t.__imul__(OTHER), X0 * OTHER),
    ("itruediv", lambda t: t.__itruediv__(OTHER), X0 / OTHER),
    ("ipow", lambda t: t.__ipow__(2), X0 ** 2),
    ("add_", lambda t: t.add_(OTHER), X0 + OTHER),
    ("add_alpha", lambda t: t.add_(OTHER, alpha=-3.0), X0 - 3.0 * OTHER),
    ("sub_", lambda t: t.sub_(OTHER), X0 - OTHER),
    ("sub_alpha", lambda t: t.sub_(OTHER, alpha=0.5), X0 - 0.5 * OTHER),
    ("mul_", lambda t: t.mul_(OTHER), X0 * OTHER),
    ("div_", lambda t: t.div_(OTHER), X0 / OTHER),
    ("pow_", lambda t: t.pow_(2), X0 ** 2),
    ("zero_", lambda t: t.zero_(), np.zeros(3)),
    ("fill_", lambda t: t.fill_(7.5), np.full(3, 7.5)),
    ("copy_", lambda t: t.copy_(OTHER), OTHER),
    ("clamp_", lambda t: t.clamp_(1.5, 3.0), np.clip(X0, 1.5, 3.0)),
    ("clamp_min", lambda t: t.clamp_(min=1.5), np.clip(X0, 1.5, None)),
    ("clamp_max", lambda t: t.clamp_(max=3.0), np.clip(X0, None, 3.0)),
    ("setitem", lambda t: t.__setitem__(slice(0, 2), -1.0), np.array([-1.0, -1.0, 4.0])),
]
IDS = [case[0] for case in IN_PLACE]


# ----------------------------------------------------------------------------------------
# The values, the object, the version
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "call", "expected"), IN_PLACE, ids=IDS)
def test_in_place_op_under_no_grad_changes_the_leaf_itself(name, call, expected):
    w = tg.tensor(X0, requires_grad=True)
    data = w.data
    with tg.no_grad():
        result = call(w)
    assert result is w or name == "setitem"
    assert w.data is data and w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.data, expected)
    assert w._version == 1


@pytest.mark.parametrize(("name", "call", "expected"), IN_PLACE, ids=IDS)
def test_in_place_op_on_a_tensor_without_grad_just_works(name, call, expected):
    x = tg.tensor(X0)
    call(x)  # grad mode on: allowed, nothing is recorded
    np.testing.assert_array_equal(x.data, expected)
    assert x._version == 1 and x.grad_fn is None and not x.requires_grad


@pytest.mark.parametrize(("name", "call", "expected"), IN_PLACE, ids=IDS)
def test_in_place_op_on_a_leaf_that_requires_grad_raises_pytorchs_error(name, call, expected):
    w = tg.tensor(X0, requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        call(w)
    np.testing.assert_array_equal(w.data, X0)  # unchanged
    assert w._version == 0


@pytest.mark.parametrize(("name", "call", "expected"), IN_PLACE, ids=IDS)
def test_in_place_op_on_a_recorded_non_leaf_raises_while_recording(name, call, expected):
    w = tg.tensor(X0, requires_grad=True)
    y = w * 1.0
    with pytest.raises(RuntimeError, match="records values, not mutations"):
        call(y)
    np.testing.assert_array_equal(y.data, X0)


def test_the_sgd_update_written_with_minus_equals_under_no_grad():
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    alias = w
    (w * w).sum().backward()
    with tg.no_grad():
        w -= 0.1 * w.grad
    assert w is alias and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.data, [0.8, -1.6], rtol=1e-15)


def test_minus_equals_on_a_leaf_outside_no_grad_raises_and_changes_nothing():
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        w -= 0.1 * w.grad
    np.testing.assert_array_equal(w.data, [1.0, -2.0])


def test_an_operand_that_requires_grad_cannot_be_added_in_place_while_recording():
    x = tg.tensor([1.0, 2.0])
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="records values, not mutations"):
        x += w
    with tg.no_grad():
        x += w  # a value, not recorded
    np.testing.assert_array_equal(x.data, [4.0, 6.0])


def test_in_place_on_a_non_leaf_under_no_grad_changes_it_and_backward_then_raises():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.exp(w)
    with tg.no_grad():
        y.mul_(2.0)
    np.testing.assert_allclose(y.data, 2 * np.exp([1.0, 2.0]), rtol=1e-15)
    assert y._version == 1
    with pytest.raises(tg.BackwardError, match=r"output of 'exp'.*in-place"):
        y.sum().backward()


def test_in_place_ops_broadcast_the_operand_like_numpy():
    x = tg.tensor(np.zeros((2, 3)))
    x += np.array([1.0, 2.0, 3.0])
    x.copy_(x * 2)
    np.testing.assert_array_equal(x.data, [[2.0, 4.0, 6.0], [2.0, 4.0, 6.0]])
    x.copy_([[5.0], [6.0]])
    np.testing.assert_array_equal(x.data, [[5.0] * 3, [6.0] * 3])


@pytest.mark.parametrize("call", [lambda x: x.__iadd__(np.ones((2, 3))),
                                  lambda x: x.copy_(np.ones((2, 3))),
                                  lambda x: x.mul_(np.ones(4))], ids=["iadd", "copy_", "mul_"])
def test_in_place_op_whose_result_has_another_shape_raises_shape_error(call):
    x = tg.tensor(np.zeros(3))
    with pytest.raises(tg.ShapeError, match=r"shape \(3,\)"):
        call(x)
    assert x._version == 0


@pytest.mark.parametrize(("call", "what"), [
    (lambda x: x.__iadd__(1.5), "add_"),
    (lambda x: x.__itruediv__(2), "div_"),
    (lambda x: x.mul_(np.array([0.5, 0.5])), "mul_"),
    (lambda x: x.fill_(1.5), "fill_"),
    (lambda x: x.copy_(np.array([0.5, 1.5])), "copy_"),
    (lambda x: x.clamp_(0.5, 1.5), "clamp_"),
    (lambda x: x.__setitem__(0, 0.5), "__setitem__"),
], ids=["iadd", "itruediv", "mul_", "fill_", "copy_", "clamp_", "setitem"])
def test_in_place_op_that_would_change_the_dtype_raises_like_numpy(call, what):
    x = tg.tensor(np.array([1, 2]))  # int64
    with pytest.raises(TypeError, match=rf"{what}.*float64.*int64"):
        call(x)
    np.testing.assert_array_equal(x.data, [1, 2])
    assert x.dtype == np.int64 and x._version == 0


def test_lists_are_operands_too():
    x = tg.tensor(np.zeros(3))
    x[1:] = [1.0, 2.0]
    x += [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])
    i = tg.tensor(np.zeros(2, dtype=np.int64))
    with pytest.raises(TypeError, match=r"__setitem__.*float64.*int64"):
        i[:] = [0.5, 1.5]


def test_in_place_casting_within_a_kind_is_allowed_as_in_numpy():
    x = tg.tensor(np.ones(2, dtype=np.float32))
    x += np.array([0.5, 0.25])  # float64 operand, stored as float32 (same kind)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.data, np.array([1.5, 1.25], dtype=np.float32))
    i = tg.tensor(np.array([1, 2]))
    i *= 3
    np.testing.assert_array_equal(i.data, [3, 6])


def test_a_value_error_that_is_not_about_shapes_keeps_its_kind():
    i = tg.tensor(np.array([1, 2]))
    with pytest.raises(ValueError, match="pow_: Integers to negative integer powers") as info:
        i **= -1
    assert not isinstance(info.value, tg.ShapeError)


def test_clamp_needs_a_bound_and_fill_needs_a_scalar():
    x = tg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="clamp_: at least one of 'min' or 'max'"):
        x.clamp_()
    with pytest.raises(ValueError, match=r"fill_: value must be a number.*shape \(2,\)"):
        x.fill_(np.array([1.0, 2.0]))
    x.fill_(tg.tensor(3.0))
    np.testing.assert_array_equal(x.data, [3.0, 3.0])


def test_in_place_op_on_a_read_only_array_says_so():
    a = np.ones(3)
    a.flags.writeable = False
    x = tg.Tensor(a)
    with pytest.raises(ValueError, match="add_: .*read-only"):
        x += 1
    assert not a.flags.writeable


def test_x_index_plus_equals_under_no_grad_updates_the_slice():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with tg.no_grad():
        w[1:] += 10.0
        w[0] = -1.0
    np.testing.assert_array_equal(w.data, [-1.0, 12.0, 13.0])
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        w[0] = 5.0


# ----------------------------------------------------------------------------------------
# Version counters: one per base array, shared by its views
# ----------------------------------------------------------------------------------------

def test_version_counts_in_place_changes():
    x = tg.tensor([1.0, 2.0])
    assert x._version == 0
    x += 1
    x.mul_(2)
    x.zero_()
    assert x._version == 3


@pytest.mark.parametrize("make_view", [
    lambda x: x[1:], lambda x: x[::-1], lambda x: x[None], lambda x: x.reshape(2, 2),
    lambda x: x.detach(), lambda x: x.T, lambda x: tg.transpose(x.reshape(2, 2)),
    lambda x: tg.Tensor(x), lambda x: tg.Tensor(x.numpy()[1:]),
], ids=["slice", "reversed", "newaxis", "reshape", "detach", "T", "transpose", "Tensor",
        "numpy-view"])
def test_views_share_the_version_of_their_base(make_view):
    x = tg.tensor([1.0, 2.0, 3.0, 4.0])
    v = make_view(x)
    assert np.shares_memory(v.data, x.data)
    v.add_(1.0)
    assert x._version == v._version == 1
    assert x.data.sum() == 10.0 + v.size  # the change went into x's memory
    x.mul_(2.0)
    assert v._version == 2


def test_read_only_views_share_the_version_too():
    x = tg.tensor([1.0, 2.0])
    b = tg.broadcast_to(x, shape=(3, 2))
    e = tg.expand_dims(x, 0)
    x.add_(1.0)
    assert b._version == e._version == 1
    np.testing.assert_array_equal(b.data, [[2.0, 3.0]] * 3)


def test_version_counters_go_away_with_their_arrays():
    tensor_module = importlib.import_module("tensorgrad.tensor")  # tg.tensor is the function
    gc.collect()
    before = len(tensor_module._counters)
    for _ in range(50):
        x = tg.tensor(np.ones(4))
        x[1:].add_(1.0)
        assert x._version == 1
    del x
    gc.collect()
    assert len(tensor_module._counters) <= before


def test_a_copy_made_by_advanced_indexing_has_its_own_version():
    x = tg.tensor([1.0, 2.0, 3.0])
    c = x[[0, 2]]
    c.add_(1.0)
    assert c._version == 1 and x._version == 0
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------------------
# Backward refuses values changed after they were recorded
# ----------------------------------------------------------------------------------------

def test_backward_after_an_in_place_change_of_a_saved_input_raises():
    x = tg.tensor([1.0, 2.0, 3.0])
    w = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    x.add_(1.0)  # x does not require grad: allowed, bumps its version
    with pytest.raises(tg.BackwardError) as info:
        y.backward()
    message = str(info.value)
    assert "'multiply'" in message and "input 0" in message and "shape (3,)" in message
    assert "modified by an in-place operation" in message
    assert "version 1" in message
    assert "record_sites" in message  # how to see where the op was recorded
    assert w.grad is None


def test_writing_an_element_of_a_saved_leaf_under_no_grad_is_seen_by_backward():
    x = tg.tensor([1.0, 2.0, 3.0])
    w = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    with tg.no_grad():
        w[0] = 10.0  # __setitem__: versioned, unlike w.data[0] = 10.0
    with pytest.raises(tg.BackwardError, match=r"input 1 of 'multiply' \(a leaf that requires"):
        y.backward()


def test_the_version_error_names_the_line_that_recorded_the_op():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.record_sites():
        y = tg.exp(w)
    z = y.sum()
    with tg.no_grad():
        w.sub_(1.0)
    with pytest.raises(tg.BackwardError) as info:
        z.backward()
    message = str(info.value)
    assert "'exp'" in message and "input 0" in message
    assert "test_inplace.py" in message and "y = tg.exp(w)" in message


def test_an_in_place_change_through_a_view_is_seen_by_backward():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()
    with tg.no_grad():
        w[1:].mul_(0.0)
    with pytest.raises(tg.BackwardError, match="'multiply'"):
        y.backward()


def test_a_constant_array_changed_in_place_through_a_tensor_is_seen_by_backward():
    a = np.array([1.0, 2.0])
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = tg.multiply(a, w).sum()
    tg.Tensor(a).mul_(10.0)  # the same memory as the constant that 'multiply' saved
    with pytest.raises(tg.BackwardError, match=r"input 0 of 'multiply' \(a constant array\)"):
        y.backward()


def test_every_saved_input_is_checked_even_where_the_vjp_would_not_read_it():
    x = tg.tensor([1.0, 2.0])
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = (x + w).sum()
    x.add_(1.0)  # PyTorch would not mind: add saves nothing
    with pytest.raises(tg.BackwardError, match=r"input 0 of 'add'"):
        y.backward()


def test_tg_grad_checks_versions_too():
    x = tg.tensor([2.0])
    w = tg.tensor([3.0], requires_grad=True)
    y = (x * w).sum()
    x.fill_(5.0)
    with pytest.raises(tg.BackwardError, match="modified by an in-place operation"):
        tg.grad(y, w)


def test_changes_before_recording_are_fine():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        w.mul_(3.0)
    y = (w * w).sum()
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [6.0, 12.0])


def test_optimiser_step_between_two_backwards_of_a_retained_graph_raises_on_the_second():
    w = nn.Parameter(np.array([1.0, 2.0]))
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt = optim.SGD([w], lr=0.1)
    opt.step()  # the graph is still alive: the update goes through the versioned path
    np.testing.assert_allclose(w.data, [0.8, 1.6], rtol=1e-15)
    assert w._version == 1
    with pytest.raises(tg.BackwardError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1)], ids=["SGD", "Adam"])
def test_optimisers_update_in_place_and_bump_versions(make):
    w = nn.Parameter(np.array([1.0, 2.0]))
    data = w.data
    opt = make([w])
    for step in range(1, 3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        assert w._version == step and w.data is data


# ----------------------------------------------------------------------------------------
# Direct writes into .data: after a backward that retained the graph, the leaves it saved
# are read-only until the graph is released
# ----------------------------------------------------------------------------------------

def test_direct_write_into_a_saved_leaf_is_refused_after_a_retained_backward():
    x = tg.tensor([1.0, 2.0, 3.0])
    w = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    y.backward(retain_graph=True)
    with pytest.raises(ValueError, match="read-only"):
        w.data[0] = 10.0
    with pytest.raises(ValueError, match="read-only"):
        w.data -= 0.1 * w.grad.data  # the hand-written SGD step
    with pytest.raises(ValueError, match="read-only"):
        w.numpy()[0] = 10.0
    y.backward()  # releases the graph
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0, 6.0])
    w.data[0] = 10.0  # writes are allowed again
    assert w.data[0] == 10.0


def test_recording_alone_leaves_the_leaves_writeable():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    assert w.data.flags.writeable
    y.backward()
    assert w.data.flags.writeable


def test_the_protection_ends_when_a_retained_graph_is_dropped():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (tg.exp(w) * 2).sum()
    y.backward(retain_graph=True)
    assert not w.data.flags.writeable
    del y
    gc.collect()
    assert w.data.flags.writeable
    w.data[0] = 5.0


def test_the_protection_lasts_with_retain_graph_and_ends_after_tg_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    tg.grad(y, w, retain_graph=True)
    assert not w.data.flags.writeable
    tg.grad(y, w)
    assert w.data.flags.writeable


def test_create_graph_protects_until_the_graph_is_gone():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w * w).sum()
    g, = tg.grad(y, w, create_graph=True)
    assert not w.data.flags.writeable
    del y, g
    gc.collect()
    assert w.data.flags.writeable


def test_a_leaf_saved_by_two_retained_graphs_is_writeable_once_both_are_gone():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y1 = (w * 2).sum()
    y2 = (w * 3).sum()
    y1.backward(retain_graph=True)
    y2.backward(retain_graph=True)
    y1.backward()
    del y2
    gc.collect()
    assert w.data.flags.writeable


def test_a_read_only_array_stays_read_only_after_the_graph():
    a = np.array([1.0, 2.0])
    a.flags.writeable = False
    w = tg.Tensor(a, requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert not a.flags.writeable
    with tg.no_grad(), pytest.raises(ValueError, match="sub_: .*read-only"):
        w -= 1.0


def test_load_state_dict_and_plain_sgd_after_backward_still_write_directly():
    model = nn.Linear(2, 1, rng=0)
    loss = model(np.ones((1, 2))).sum()
    loss.backward()
    with tg.no_grad():
        for p in model.parameters():
            p.data -= 0.1 * p.grad.data
    model.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.ones(1)})
    np.testing.assert_array_equal(model.weight.data, [[0.0, 0.0]])


def test_retained_graphs_in_several_threads_leave_no_array_read_only():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def work():
        for _ in range(500):
            y = (w * w).sum()
            y.backward(retain_graph=True)
            y.backward()

    run_in_threads(work)
    gc.collect()
    assert w.data.flags.writeable
    np.testing.assert_array_equal(w.grad.data, [8000.0, 16000.0])


def test_in_place_ops_lift_the_protection_for_their_write_and_keep_it():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    d = w.detach()
    d.add_(1.0)  # d does not require grad: allowed; its version is w's
    with tg.no_grad():
        w[1:].mul_(10.0)  # through a view of the protected array
    np.testing.assert_array_equal(w.data, [2.0, 30.0, 40.0])
    assert w._version == 2
    assert not w.data.flags.writeable  # still protected against direct writes
    with pytest.raises(tg.BackwardError, match="'multiply'"):
        y.backward()


# ----------------------------------------------------------------------------------------
# Casts: integer and bool results end the graph
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_cast_to_an_integer_or_bool_dtype_ends_the_graph(dtype):
    a = tg.tensor([1.5, 2.5], requires_grad=True)
    b = a.astype(dtype)
    assert b.dtype == np.dtype(dtype)
    assert not b.requires_grad and b.grad_fn is None
    c = tg.cast(a, dtype=dtype)
    assert not c.requires_grad
    with pytest.raises(tg.BackwardError, match="does not require grad"):
        (b * 2.0).sum().backward()


def test_cast_between_floating_dtypes_keeps_the_gradient():
    a = tg.tensor([1.5, 2.5], requires_grad=True)
    b = a.astype(np.float32)
    assert b.requires_grad and b.grad_fn.name == "cast"
    (b * b).sum().backward()
    assert a.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.data, [3.0, 5.0], rtol=1e-7)


def test_a_users_op_with_an_integer_result_from_a_tensor_that_requires_grad_raises():
    @tg.primitive
    def count_positive(x):
        return np.sum(x > 0)

    count_positive.defvjp(lambda g, out, x: g * 0.0)
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"count_positive.*int64.*real floating"):
        count_positive(x)
    assert count_positive(x.detach()).item() == 1


def test_cast_to_complex_from_a_tensor_that_requires_grad_raises():
    a = tg.tensor([1.5, 2.5], requires_grad=True)
    with pytest.raises(TypeError, match=r"cast: dtype must be .* got complex128"):
        a.astype(np.complex128)
    with pytest.raises(TypeError, match=r"cast: dtype must be a bool, integer or floating"):
        a.detach().astype(np.complex128)  # complex numbers are not supported at all


def test_in_place_matmul_raises_instead_of_rebinding():
    x = tg.tensor(np.eye(2))
    with pytest.raises(TypeError, match=r"@=: in-place matrix multiplication is not supported"):
        x @= np.ones((2, 2))


def test_load_state_dict_is_a_versioned_copy_a_retained_graph_notices():
    layer = tg.nn.Linear(2, 1, rng=0)
    y = layer(tg.tensor(np.ones((1, 2)))).sum()
    y.backward(retain_graph=True)  # the graph keeps the weight: its array is read-only now
    layer.load_state_dict({k: v * 2 for k, v in layer.state_dict().items()})
    np.testing.assert_array_equal(layer.weight.data, 2 * layer.state_dict()["weight"] / 2)
    with pytest.raises(tg.BackwardError, match="modified by an in-place operation"):
        y.backward()
