import Foundation

// libFuzzer harness: the safetensors header parser (length prefix, JSON, per-tensor
// validation), compiled from the SafeTensors sources with DType from Torch's and
// ct_element_size from Fuzz/shims (no libtorch; scripts/fuzz.sh).
//
// Checks beyond "no crash": every accepted tensor's byte range lies inside the input and
// after the header, and its size is shape x element size.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensorsHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    guard let (tensors, _) = try? SafeTensorsHeader.parse(buffer, file: "fuzz.safetensors") else { return 0 }
    for tensor in tensors {
        guard tensor.byteRange.lowerBound >= 8, tensor.byteRange.upperBound <= size else {
            fatalError("\(tensor.name): \(tensor.byteRange) outside \(size) bytes")
        }
        let elements = tensor.shape.reduce(1, *)
        if elements * tensor.dtype.elementSize != tensor.byteRange.count { fatalError("\(tensor.name): size mismatch") }
    }
    return 0
}
