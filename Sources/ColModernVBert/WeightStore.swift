import SafeTensors
import Torch

/// Hands out the model's tensors by canonical name (see `WeightNames`), checked against the shape
/// the config implies and moved to the model's device and dtype. Tensors the model does not ask for
/// (SigLIP's pooling head, LM heads, ...) are never read.
struct WeightStore {
    let source: WeightSource
    let layout: String
    let device: Device
    let dtype: DType
    /// Where tensors derived at load are shared between processes (`derived(_:shape:_:)`).
    var shared: SharedTensorFile?
    /// Canonical name → the source's name.
    private let rawNames: [String: String]

    init(source: WeightSource, device: Device, dtype: DType) throws {
        self.source = source
        self.device = device
        self.dtype = dtype
        let names = source.names
        layout = WeightNames.describeLayout(names)
        var map: [String: String] = [:]
        var clashes: [String: [String]] = [:]
        for raw in names {
            guard let canonical = WeightNames.canonical(raw) else { continue }
            if let previous = map[canonical] {
                clashes[canonical, default: [previous]].append(raw)
            } else {
                map[canonical] = raw
            }
        }
        if let (name, sources) = clashes.sorted(by: { $0.key < $1.key }).first {
            throw ColModernVBertError.duplicateTensor(name: name, sources: sources)
        }
        rawNames = map
    }

    func contains(_ name: String) -> Bool { rawNames[name] != nil }

    /// The shape a tensor has in the checkpoint.
    func shape(_ name: String) throws -> [Int] {
        try source.shape(of: rawName(name))
    }

    /// The tensor `name`, which must have `shape`, on the model's device in the model's dtype.
    func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        let raw = try rawName(name)
        let found = try source.shape(of: raw)
        guard found == expected else {
            throw ColModernVBertError.shapeMismatch(name: raw, expected: expected, found: found)
        }
        return try ColModernVBertError.wrapping {
            let tensor = try source.tensor(raw)
            return tensor.dtype == dtype ? try place(tensor) : try converted(name, shape: expected, tensor)
        }
    }

    /// Moves a tensor to the model's device and dtype (no copy when it already is there).
    func place(_ tensor: Tensor) throws -> Tensor {
        try ColModernVBertError.wrapping {
            tensor.device == device && tensor.dtype == dtype ? tensor : try tensor.to(device, dtype)
        }
    }

    func linear(_ prefix: String, out: Int, in inFeatures: Int, bias: Bool) throws -> Linear {
        Linear(
            weight: try tensor(prefix + ".weight", shape: [out, inFeatures]),
            bias: bias ? try tensor(prefix + ".bias", shape: [out]) : nil)
    }

    func layerNorm(_ prefix: String, size: Int, bias: Bool, eps: Double) throws -> LayerNorm {
        LayerNorm(
            weight: try tensor(prefix + ".weight", shape: [size]),
            bias: bias ? try tensor(prefix + ".bias", shape: [size]) : nil,
            size: size, eps: eps)
    }

    private func rawName(_ name: String) throws -> String {
        guard let raw = rawNames[name] else {
            throw ColModernVBertError.missingTensor(name: name, layout: layout)
        }
        return raw
    }
}
