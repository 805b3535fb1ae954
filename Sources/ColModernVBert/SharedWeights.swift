import Foundation
import SafeTensors
import Torch

extension SharedTensorFile {
    /// The shared file for the tensors a model derives from `weights` at load (panel-packed text
    /// weights, fused projections, the joined token table, weights converted to another dtype):
    /// nil without a directory, off the CPU, or for weights not read from a checkpoint on disk
    /// (nothing to key them by). Keyed by the checkpoint's files, the dtypes, the kernel and the
    /// panel layout version, so a change of any of them derives afresh.
    static func forDerivedWeights(
        directory: URL?, weights: WeightSource, device: Device, dtype: DType, visionDType: DType? = nil,
        kernel: CPULinearKernel
    ) -> SharedTensorFile? {
        guard let directory, device == .cpu, let checkpoint = weights as? SafeTensorsCheckpoint else { return nil }
        let vision = visionDType.map { $0 == dtype ? "" : " vision \($0)" } ?? ""
        let identity =
            "derived v1 \(dtype)\(vision) \(kernel.rawValue) panels v\(Tensor.panelLayoutVersion); \(checkpoint.identity)"
        return SharedTensorFile(directory: directory, baseName: "derived-weights", identity: identity)
    }
}

extension WeightStore {
    /// A checkpoint tensor converted to the store's dtype (the mixed mode's bfloat16 vision
    /// weights): from the shared file when there is one, so that the machine holds one converted
    /// copy, stored under `<name>.<dtype>`; else a private conversion. The checkpoint's pages of
    /// the tensor are handed back afterwards (it is never read again): without that the mixed
    /// mode kept the float32 vision weights resident next to their bfloat16 copy (366 MiB for
    /// the published model).
    func converted(_ name: String, shape: [Int], _ tensor: Tensor) throws -> Tensor {
        defer { if tensor.device == .cpu { _ = tensor.adviseReclaim() } }
        guard let shared, device == .cpu else { return try place(tensor) }
        return try ColModernVBertError.wrapping {
            try shared.tensor("\(name).\(dtype.rawValue)", shape: shape, dtype: dtype) { try place(tensor).contiguous() }
        }
    }

    /// A tensor computed from checkpoint tensors at load, in the model's dtype: from the shared
    /// file when there is one (so all workers of the machine map one copy), else `derive()`.
    func derived(_ name: String, shape: [Int], _ derive: () throws -> Tensor) throws -> Tensor {
        guard let shared else { return try ColModernVBertError.wrapping { try derive() } }
        return try ColModernVBertError.wrapping {
            try shared.tensor(name, shape: shape, dtype: dtype) { try derive().contiguous() }
        }
    }
}
