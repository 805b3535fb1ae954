import SafeTensors
import Torch

/// Named tensors a model is loaded from: a safetensors checkpoint on disk, or tensors held in
/// memory (tests, conversions). Names are the source's own, in whichever layout it uses.
public protocol WeightSource {
    var names: [String] { get }
    func shape(of name: String) throws -> [Int]
    func tensor(_ name: String) throws -> Tensor
}

extension SafeTensorsCheckpoint: WeightSource {
    public func shape(of name: String) throws -> [Int] { try info(name).shape }
}

/// Tensors held in a dictionary.
public struct InMemoryWeights: WeightSource {
    public var tensors: [String: Tensor]

    public init(_ tensors: [String: Tensor]) {
        self.tensors = tensors
    }

    public var names: [String] { tensors.keys.sorted() }

    public func shape(of name: String) throws -> [Int] { try tensor(name).shape }

    public func tensor(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else {
            throw ColModernVBertError.missingTensor(name: name, layout: "in-memory")
        }
        return tensor
    }
}
