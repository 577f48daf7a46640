// `agon inspect`: what a checkpoint holds (names, shapes, sums, first values, metadata), as
// text or as the JSON that scripts/check_safetensors.py compares against.
import AgonNN
import ArgumentParser
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors and metadata of a safetensors checkpoint.")

    @Argument(help: "A .safetensors file.")
    var file: String

    @Flag(help: "Print JSON: {\"tensors\": {name: {shape, sum, first}}, \"metadata\": {...}}.")
    var json = false

    func run() throws {
        let checkpoint = try SafeTensors.read(path: file)
        var tensors: [String: Any] = [:]
        for (name, tensor) in checkpoint.tensors {
            let values = tensor.scalars
            let sum = values.reduce(0.0) { $0 + Double($1) }
            if json {
                tensors[name] = ["shape": tensor.shape, "sum": sum, "first": values.prefix(8).map(Double.init)] as [String: Any]
            } else {
                print("\(name)  \(tensor.shape)  sum \(sum)")
            }
        }
        if json {
            let object: [String: Any] = ["tensors": tensors, "metadata": checkpoint.metadata]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (key, value) in checkpoint.metadata.sorted(by: { $0.key < $1.key }) { print("\(key) = \(value)") }
        }
    }
}
