import { heUniform, xavierUniform, zeros } from './init.js';
import { Tensor } from './tensor.js';
function isModule(x) {
    return typeof x.parameters === 'function';
}
function isTable(x) {
    return typeof x.sparseGrad === 'function';
}
export class ParamStore {
    dense = new Map();
    sparse = new Map();
    /** Registers a parameter tensor, a table or a module's parameters; returns its argument. */
    add(item) {
        if (item instanceof Tensor)
            this.addParam(item);
        else if (isTable(item))
            this.addTable(item);
        else if (isModule(item))
            for (const p of item.parameters())
                this.addParam(p);
        else
            throw new Error('ParamStore.add: expected a Tensor, an EmbeddingTable or a module with parameters()');
        return item;
    }
    checkName(name, kind) {
        if (name === '')
            throw new Error(`ParamStore: a ${kind} needs a non-empty name`);
        if (this.dense.has(name) || this.sparse.has(name)) {
            throw new Error(`ParamStore: duplicate name '${name}' (every parameter and table needs a unique name)`);
        }
    }
    addParam(p) {
        this.checkName(p.name, 'parameter');
        if (!p.requiresGrad)
            throw new Error(`ParamStore: parameter '${p.name}' must have requiresGrad = true`);
        this.dense.set(p.name, p);
        return p;
    }
    addTable(t) {
        this.checkName(t.name, 'table');
        this.sparse.set(t.name, t);
        return t;
    }
    /** Dense parameters in registration order. */
    params() {
        return [...this.dense.values()];
    }
    /** Embedding tables in registration order. */
    tables() {
        return [...this.sparse.values()];
    }
    get(name) {
        const x = this.dense.get(name) ?? this.sparse.get(name);
        if (x === undefined) {
            const known = [...this.dense.keys(), ...this.sparse.keys()];
            throw new Error(`ParamStore: no parameter or table named '${name}' (known: ${known.join(', ')})`);
        }
        return x;
    }
    has(name) {
        return this.dense.has(name) || this.sparse.has(name);
    }
    /** Number of scalars over all parameters and tables. */
    count() {
        let n = 0;
        for (const p of this.dense.values())
            n += p.size;
        for (const t of this.sparse.values())
            n += t.weight.size;
        return n;
    }
    /** Clears dense gradients and the tables' sparse gradients. */
    zeroGrad() {
        for (const p of this.dense.values())
            p.zeroGrad();
        for (const t of this.sparse.values())
            t.zeroGrad();
    }
}
/** Creates a named, trainable parameter of the given shape filled by `init`. */
export function parameter(name, shape, init, fanIn, fanOut, rng) {
    const t = Tensor.zeros(shape, true, name);
    init(t.data, fanIn, fanOut, rng);
    return t;
}
/** y = x·W + b with W [in, out] (so a row-major x [B, in] multiplies without a transpose). */
export class Linear {
    name;
    inDim;
    outDim;
    W;
    b;
    constructor(name, inDim, outDim, rng, init = xavierUniform) {
        this.name = name;
        this.inDim = inDim;
        this.outDim = outDim;
        if (!Number.isInteger(inDim) || inDim < 1 || !Number.isInteger(outDim) || outDim < 1) {
            throw new Error(`Linear '${name}': dimensions must be positive integers, got ${inDim} → ${outDim}`);
        }
        this.W = parameter(`${name}.W`, [inDim, outDim], init, inDim, outDim, rng);
        this.b = parameter(`${name}.b`, [outDim], zeros, inDim, outDim, rng);
    }
    parameters() {
        return [this.W, this.b];
    }
    forward(g, x) {
        return g.linear(x, this.W, this.b);
    }
}
/** Layer normalisation over the feature axis (Ba, Kiros & Hinton, 2016): gain 1, bias 0 at start. */
export class LayerNorm {
    name;
    dim;
    eps;
    gamma;
    beta;
    constructor(name, dim, eps = 1e-5) {
        this.name = name;
        this.dim = dim;
        this.eps = eps;
        this.gamma = new Tensor(new Float32Array(dim).fill(1), [dim], true, `${name}.gamma`);
        this.beta = new Tensor(new Float32Array(dim), [dim], true, `${name}.beta`);
    }
    parameters() {
        return [this.gamma, this.beta];
    }
    forward(g, x) {
        return g.layerNorm(x, this.gamma, this.beta, this.eps);
    }
}
/**
 * A stack of Linear layers: dims = [in, h1, ..., out]. `forwardWithHidden` also returns each hidden
 * layer's post-activation output, which hint-based distillation (FitNets-style) matches.
 */
export class MLP {
    name;
    dims;
    layers = [];
    norms = [];
    opts;
    constructor(name, dims, opts, rng) {
        this.name = name;
        this.dims = dims;
        if (dims.length < 2)
            throw new Error(`MLP '${name}': dims needs at least [in, out], got [${dims}]`);
        const dropout = opts.dropout ?? 0;
        if (!(dropout >= 0 && dropout < 1))
            throw new Error(`MLP '${name}': dropout must be in [0, 1), got ${dropout}`);
        this.opts = {
            activation: opts.activation,
            finalActivation: opts.finalActivation ?? 'none',
            dropout,
            layerNorm: opts.layerNorm ?? false,
        };
        const init = opts.init ?? (opts.activation === 'relu' ? heUniform : xavierUniform);
        for (let i = 0; i + 1 < dims.length; i++) {
            this.layers.push(new Linear(`${name}.${i}`, dims[i], dims[i + 1], rng, init));
            if (this.opts.layerNorm && i + 2 < dims.length)
                this.norms.push(new LayerNorm(`${name}.ln${i}`, dims[i + 1]));
        }
    }
    get outDim() {
        return this.dims[this.dims.length - 1];
    }
    parameters() {
        return [...this.layers.flatMap((l) => l.parameters()), ...this.norms.flatMap((n) => n.parameters())];
    }
    forward(g, x) {
        return this.forwardWithHidden(g, x).out;
    }
    /** The output and the hidden activations (one per hidden layer, after activation and dropout). */
    forwardWithHidden(g, x) {
        const hidden = [];
        let h = x;
        const last = this.layers.length - 1;
        for (let i = 0; i <= last; i++) {
            h = this.layers[i].forward(g, h);
            if (i < last) {
                if (this.opts.layerNorm)
                    h = this.norms[i].forward(g, h);
                h = activate(g, h, this.opts.activation);
                if (this.opts.dropout > 0)
                    h = g.dropout(h, this.opts.dropout);
                hidden.push(h);
            }
            else {
                h = activate(g, h, this.opts.finalActivation);
            }
        }
        return { out: h, hidden };
    }
}
export function activate(g, x, a) {
    switch (a) {
        case 'relu':
            return g.relu(x);
        case 'tanh':
            return g.tanh(x);
        case 'none':
            return x;
        default:
            throw new Error(`unknown activation '${String(a)}' (expected relu, tanh or none)`);
    }
}
//# sourceMappingURL=nn.js.map