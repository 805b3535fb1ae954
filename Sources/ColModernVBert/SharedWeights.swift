import Foundation
import SafeTensors
import Torch

extension SharedTensorFile {
    /// The shared file for the tensors a model derives from `weights` at load (panel-packed text
    /// weights, fused projections, the joined token table): nil without a directory, off the CPU,
    /// or for weights not read from a checkpoint on disk (nothing to key them by). Keyed by the
    /// checkpoint's files, the dtype, the kernel and the panel layout version, so a change of any
    /// of them derives afresh.
    static func forDerivedWeights(
        directory: URL?, weights: WeightSource, device: Device, dtype: DType, kernel: CPULinearKernel
    ) -> SharedTensorFile? {
        guard let directory, device == .cpu, let checkpoint = weights as? SafeTensorsCheckpoint else { return nil }
        let identity = "derived v1 \(dtype) \(kernel.rawValue) panels v\(Tensor.panelLayoutVersion); \(checkpoint.identity)"
        return SharedTensorFile(directory: directory, baseName: "derived-weights", identity: identity)
    }
}

extension WeightStore {
    /// A tensor computed from checkpoint tensors at load, in the model's dtype: from the shared
    /// file when there is one (so all workers of the machine map one copy), else `derive()`.
    func derived(_ name: String, shape: [Int], _ derive: () throws -> Tensor) throws -> Tensor {
        guard let shared else { return try ColModernVBertError.wrapping { try derive() } }
        return try ColModernVBertError.wrapping {
            try shared.tensor(name, shape: shape, dtype: dtype) { try derive().contiguous() }
        }
    }
}
