"""``torch.nn`` recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the
single-step ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Every layer and cell shares one step function per mode (one time step of
one layer and direction, with PyTorch's gate order and formulas from
``aten/src/ATen/native/RNN.cpp``) and one driver that runs it over time,
directions and stacked layers. As in PyTorch's CPU kernels, the
input-to-hidden products of a whole sequence are one matrix product made
before the time loop; only the hidden-to-hidden product is sequential.
Everything is built from differentiable tensor ops, so autograd (and
``create_graph``) work through it. A ``PackedSequence`` input runs on its
packed data directly, each step over the sequences still running.
"""

import math
import numbers
import warnings

from ... import _core
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# ---------------------------------------------------------------------------
# one time step: ``gi`` is the input projection ``x W_ih^T + b_ih`` (B, G),
# ``state`` a tuple ((h,) or (h, c)), each (B, *); returns the new state
# ---------------------------------------------------------------------------


def _tanh_step(gi, state, w_hh, b_hh, w_hr):
    """Elman RNN: ``h' = tanh(gi + h W_hh^T + b_hh)``."""
    return ((F.linear(state[0], w_hh, b_hh) + gi).tanh(),)


def _relu_step(gi, state, w_hh, b_hh, w_hr):
    """Elman RNN: ``h' = relu(gi + h W_hh^T + b_hh)``."""
    return ((F.linear(state[0], w_hh, b_hh) + gi).relu(),)


def _lstm_step(gi, state, w_hh, b_hh, w_hr):
    """LSTM, gates in PyTorch's order (input, forget, cell, output):
    ``c' = f*c + i*g``, ``h' = o*tanh(c')``, then ``h' W_hr^T`` with a
    projection."""
    h, c = state
    i, f, g, o = (F.linear(h, w_hh, b_hh) + gi).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else F.linear(h, w_hr), c)


def _gru_step(gi, state, w_hh, b_hh, w_hr):
    """GRU, gates in PyTorch's order (reset, update, new):
    ``n = tanh(i_n + r * (h W_hn^T + b_hn))``, ``h' = (h - n) * z + n``
    (PyTorch's arrangement of ``(1 - z) * n + z * h``)."""
    (h,) = state
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = (h_r + i_r).sigmoid()
    z = (h_z + i_z).sigmoid()
    n = (i_n + h_n * r).tanh()
    return ((h - n) * z + n,)


_STEPS = {"RNN_TANH": _tanh_step, "RNN_RELU": _relu_step, "LSTM": _lstm_step, "GRU": _gru_step}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


# ---------------------------------------------------------------------------
# the driver shared by RNN, LSTM and GRU
# ---------------------------------------------------------------------------


def _run_direction(step, gates, state, w_hh, b_hh, w_hr, reverse, batch_sizes=None):
    """Runs ``step`` over the time steps of ``gates``, forwards or
    backwards. Returns the outputs in input order and the final state.

    ``gates`` is (T, B, G), or packed data (N, G) with ``batch_sizes``: then
    step ``t`` runs only the first ``batch_sizes[t]`` rows (the batch is
    sorted by decreasing length). Going forwards, rows whose sequence ended
    leave the state frozen at their last step; going backwards, rows join
    from their initial state at their own last element, as in ATen's packed
    kernels. The output is then packed data (N, H) too."""
    inputs = gates.unbind(0) if batch_sizes is None else gates.split(batch_sizes)
    outputs = [None] * len(inputs)
    initial, finished = state, []
    if reverse:
        state = tuple(s[:inputs[-1].size(0)] for s in initial)
    for t in (reversed(range(len(inputs))) if reverse else range(len(inputs))):
        rows, active = inputs[t].size(0), state[0].size(0)
        if rows < active:  # forwards only: some sequences ended
            finished.append(tuple(s[rows:] for s in state))
            state = tuple(s[:rows] for s in state)
        elif rows > active:  # backwards only: some sequences start
            state = tuple(_core.cat([s, s0[active:rows]]) for s, s0 in zip(state, initial))
        state = step(inputs[t], state, w_hh, b_hh, w_hr)
        outputs[t] = state[0]
    if finished:  # the earliest to end are the last rows
        state = tuple(_core.cat(list(parts)) for parts in zip(state, *reversed(finished)))
    return (_core.stack if batch_sizes is None else _core.cat)(outputs), state


def _stacked_rnn(step, input, hx, weights, num_directions, dropout, training, batch_sizes=None):
    """A stacked, optionally bidirectional recurrence.

    ``input`` (T, B, I) is time-major; ``hx`` a tuple of initial states,
    each (num_layers * num_directions, B, *); ``weights`` one tuple
    ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` per layer and direction (layer-major,
    None for absent ones). Dropout (when ``training``) is applied to the
    outputs of every layer but the last. Returns the last layer's output
    (T, B, num_directions * H) and the final states, stacked like ``hx``.
    With ``batch_sizes`` (a list), ``input`` and the output are packed data
    (N, *) instead (see ``_run_direction``).
    """
    finals = []
    num_layers = len(weights) // num_directions
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_directions):
            index = layer * num_directions + direction
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[index]
            out, state = _run_direction(step, F.linear(input, w_ih, b_ih), tuple(s[index] for s in hx),
                                        w_hh, b_hh, w_hr, reverse=direction == 1, batch_sizes=batch_sizes)
            outputs.append(out)
            finals.append(state)
        input = outputs[0] if num_directions == 1 else _core.cat(outputs, -1)
        if dropout > 0 and training and layer < num_layers - 1:
            input = F.dropout(input, dropout, True)
    return input, tuple(_core.stack(list(s)) for s in zip(*finals))


# ---------------------------------------------------------------------------
# RNN, LSTM, GRU
# ---------------------------------------------------------------------------


class RNNBase(Module):
    """The shared base of ``RNN``, ``LSTM`` and ``GRU``: parameters, checks,
    and the forward pass over a (T, B, I) / (B, T, I) / unbatched (T, I)
    input.

    ``mode`` is ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``. Per
    layer ``k`` and direction (suffix ``_reverse`` for the backward one) the
    parameters are ``weight_ih_l{k}`` (G*H, I_k), ``weight_hh_l{k}`` (G*H,
    H_out), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*H,) and, for an LSTM with
    ``proj_size > 0``, ``weight_hr_l{k}`` (proj_size, H); G is the number of
    gates and ``H_out`` is ``proj_size`` or ``hidden_size``. All start
    uniform in ``(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.

    Raises PyTorch's ValueErrors and TypeErrors for bad hyper-parameters, and
    warns when ``dropout > 0`` with a single layer.
    """

    _num_states = 1  # (h,); the LSTM has (h, c)

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_hyperparameters(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
            for direction in range(num_directions):
                shapes = {"weight_ih": (gate_size, layer_input_size), "weight_hh": (gate_size, real_hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(_core.empty(shape, dtype=dtype, device=device)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        """The parameters in PyTorch's flat order (looked up each time, so a
        reassigned parameter is always the one used)."""
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters, one list per layer and direction."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op: PyTorch packs the weights for cuDNN here; rustgrad needs
        no packed copy."""

    def reset_parameters(self):
        """Every parameter uniform in ``(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- checks (PyTorch's names and messages) ------------------------------

    def check_input(self, input, batch_sizes=None):
        """ValueError for an input whose dtype is not the weights', and
        RuntimeError for a last dim other than ``input_size``."""
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3  # packed data is (N, I)
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {input.size(-1)}")

    def _state_sizes(self):
        """The last dim of each state: h (``proj_size`` or ``hidden_size``)
        and, for the LSTM, c (``hidden_size``)."""
        return (self.proj_size or self.hidden_size, self.hidden_size)[:self._num_states]

    def get_expected_hidden_size(self, input, batch_sizes=None):
        """``(num_layers * num_directions, batch, H_out)``."""
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self._state_sizes()[0])

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        """RuntimeError ``msg`` (formatted with the expected size, as given,
        and ``hx``'s size as a list: PyTorch's "Expected hidden size (1, 3,
        20), got [1, 4, 20]") unless ``hx`` has ``expected_hidden_size``."""
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes=None):
        """Checks the (batched) input and the initial state(s)."""
        self.check_input(input, batch_sizes)
        expected = self.get_expected_hidden_size(input, batch_sizes)
        states = hidden if self._num_states > 1 else (hidden,)
        for i, (state, size) in enumerate(zip(states, self._state_sizes())):
            label = f"hidden[{i}]" if self._num_states > 1 else "hidden"
            self.check_hidden_size(state, expected[:2] + (size,), f"Expected {label} size {{}}, got {{}}")

    def _check_state_dims(self, states, batched):
        """RuntimeError unless every initial state is 3-D (batched input) or
        2-D (unbatched), in PyTorch's wording."""
        want = 3 if batched else 2
        if all(s.dim() == want for s in states):
            return
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self._num_states == 1:
            raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {states[0].dim()}-D tensor")
        dims = ", ".join(f"{s.dim()}-D" for s in states)
        raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got ({dims}) tensors")

    # -- forward ----------------------------------------------------------

    def _forward(self, input, hx):
        """The forward pass shared by RNN, LSTM and GRU; ``hx`` is None, a
        tensor (h) or, for the LSTM, a pair (h, c). Returns the output and
        the final states as a tuple."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if input.dim() not in (2, 3):
            noun = " tensor" if self.mode.startswith("RNN") else ""
            raise ValueError(f"{self._label}: Expected input to be 2D or 3D, got {input.dim()}D{noun} instead")
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            states = tuple(_core.zeros(self.get_expected_hidden_size(input)[:2] + (size,), dtype=input.dtype,
                                       device=input.device) for size in self._state_sizes())
        else:
            # hx[0], hx[1] as in PyTorch (a tensor passed to an LSTM is indexed)
            states = (hx[0], hx[1]) if self._num_states > 1 else (hx,)
            self._check_state_dims(states, batched)
            if not batched:
                states = tuple(s.unsqueeze(1) for s in states)
        self.check_forward_args(input, self._unpack_states(states))
        if input.size(1 - batch_dim) == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if self.batch_first:
            input = input.transpose(0, 1)
        output, states = _stacked_rnn(_STEPS[self.mode], input, states, self._layer_weights(),
                                      2 if self.bidirectional else 1, self.dropout, self.training)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(batch_dim)
            states = tuple(s.squeeze(1) for s in states)
        return output, states

    def _unpack_states(self, states):
        """The states as the checks take them: h alone, or the pair (h, c)."""
        return states if self._num_states > 1 else states[0]

    def _forward_packed(self, packed, hx):
        """``_forward`` for a ``PackedSequence``: the initial states are
        taken in the original batch order and put in the sorted one, and the
        final states put back (PyTorch's ``permute_hidden``)."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        sizes = batch_sizes.tolist()
        if hx is None:
            states = tuple(_core.zeros(self.get_expected_hidden_size(data, sizes)[:2] + (size,), dtype=data.dtype,
                                       device=data.device) for size in self._state_sizes())
        else:
            states = (hx[0], hx[1]) if self._num_states > 1 else (hx,)
            states = _permute_states(states, sorted_indices)
        self.check_forward_args(data, self._unpack_states(states), sizes)
        output, states = _stacked_rnn(_STEPS[self.mode], data, states, self._layer_weights(),
                                      2 if self.bidirectional else 1, self.dropout, self.training, sizes)
        return (PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices),
                _permute_states(states, unsorted_indices))

    def _layer_weights(self):
        """``(w_ih, w_hh, b_ih, b_hh, w_hr)`` per layer and direction, None
        for the absent ones."""
        suffixes = (names[0][len("weight_ih"):] for names in self._all_weights)  # "_l0", "_l0_reverse", ...
        return [tuple(getattr(self, kind + suffix, None) for kind in _KINDS) for suffix in suffixes]

    @property
    def _label(self):
        return {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)


def _permute_states(states, permutation):
    """Each state (L*D, B, *) with its batch reordered by ``permutation``
    (unchanged when None)."""
    if permutation is None:
        return states
    return tuple(s.index_select(1, permutation) for s in states)


def _check_hyperparameters(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    """PyTorch's constructor checks of ``RNNBase``, in its order."""
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                         "element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                      f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if mode not in _GATES:
        raise ValueError("Unrecognized RNN mode: " + mode)


def _no_proj_size(kwargs):
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``
    (``nonlinearity='relu'`` for relu), stacked and optionally
    bidirectional.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh',
    bias=True, batch_first=False, dropout=0.0, bidirectional=False)``.
    ``forward(input, hx=None)``: ``input`` (T, B, I), (B, T, I) with
    ``batch_first`` or unbatched (T, I); ``hx`` (L*D, B, H) or (L*D, H),
    zeros by default. Returns ``(output, h_n)``: output (T, B, D*H) (or
    batch first / unbatched like the input), ``h_n`` like ``hx``.

    ValueError for an unknown nonlinearity or a ``proj_size`` argument;
    errors of ``RNNBase`` otherwise.
    """

    def __init__(self, *args, **kwargs):
        _no_proj_size(kwargs)
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, stacked and optionally bidirectional, with an
    optional projection of the hidden state (``proj_size``).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0)``.
    Gates (PyTorch's order i, f, g, o): ``i, f, o = sigmoid(.)``, ``g =
    tanh(.)`` of ``x W_ih^T + b_ih + h W_hh^T + b_hh``; ``c' = f*c + i*g``,
    ``h' = o * tanh(c')`` (times ``W_hr^T`` with a projection).
    ``forward(input, hx=None)`` with ``hx = (h_0, c_0)``: ``h_0`` (L*D, B,
    H_out), ``c_0`` (L*D, B, H), zeros by default. Returns ``(output, (h_n,
    c_n))``, output (T, B, D*H_out).
    """

    _num_states = 2

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes=None):
        """``(num_layers * num_directions, batch, hidden_size)``."""
        return self.get_expected_hidden_size(input, batch_sizes)[:2] + (self.hidden_size,)

    def forward(self, input, hx=None):
        output, (h_n, c_n) = self._forward(input, hx)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, stacked and optionally bidirectional.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``. Gates (PyTorch's
    order r, z, n): ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z``
    likewise, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 -
    z) * n + z * h``. Inputs and outputs as ``RNN``.
    """

    def __init__(self, *args, **kwargs):
        _no_proj_size(kwargs)
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------


class RNNCellBase(Module):
    """The shared base of the cells: ``weight_ih`` (G*H, I), ``weight_hh``
    (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,) (None with
    ``bias=False``), uniform in ``(-1/sqrt(H), 1/sqrt(H))``."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = dict(dtype=dtype, device=device)
        self.weight_ih = Parameter(_core.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(_core.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(_core.empty((num_chunks * hidden_size,), **kw))
            self.bias_hh = Parameter(_core.empty((num_chunks * hidden_size,), **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    reset_parameters = RNNBase.reset_parameters

    def _cell_forward(self, label, mode, input, hx, state_name):
        """One step of ``mode`` for a (B, I) or unbatched (I,) input and a
        state tuple (or None for zeros). Returns the new state tuple, with
        PyTorch's checks: ValueError for ranks other than 1 or 2 and
        RuntimeError for inconsistent sizes."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{label}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for i, h in enumerate(hx or ()):
            if h.dim() not in (1, 2):
                name = state_name.format(i)
                raise ValueError(f"{label}: Expected {name} to be 1D or 2D, got {h.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = _core.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (zeros,) * (2 if mode == "LSTM" else 1)
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx)
        if mode not in _STEPS:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        if input.size(1) != self.weight_ih.size(1):
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.weight_ih.size(1)}")
        for i, h in enumerate(hx):
            if input.size(0) != h.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} batch size {h.size(0)}")
            if h.size(1) != self.weight_hh.size(1):
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.size(1)}, "
                                   f"expected {self.weight_hh.size(1)}")
        state = _STEPS[mode](F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh, None)
        return state if batched else tuple(s.squeeze(0) for s in state)


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``
    (or relu).

    ``RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')``;
    ``forward(input, hx=None)``: input (B, I) or (I,), hx (B, H) or (H,)
    (zeros by default) -> h' like hx. An unknown nonlinearity raises
    RuntimeError at forward, as in PyTorch.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        mode = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}.get(self.nonlinearity)
        return self._cell_forward("RNNCell", mode, input, None if hx is None else (hx,), "hidden")[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o as ``LSTM``).

    ``LSTMCell(input_size, hidden_size, bias=True)``; ``forward(input,
    hx=None)`` with ``hx = (h, c)``, each (B, H) or (H,), zeros by default
    -> ``(h', c')``.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._cell_forward("LSTMCell", "LSTM", input, None if hx is None else tuple(hx), "hx[{}]")


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n as ``GRU``).

    ``GRUCell(input_size, hidden_size, bias=True)``; ``forward(input,
    hx=None)``: input (B, I) or (I,), hx (B, H) or (H,) -> h'.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._cell_forward("GRUCell", "GRU", input, None if hx is None else (hx,), "hidden")[0]
