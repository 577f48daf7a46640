// Checkpoints: a GAN's parameters (named as the reference fixtures name them), its moving
// statistics and optimizer state, in one safetensors file, with a JSON manifest beside it.
import AgonNN
import AgonTensor
import Foundation

/// Saving and restoring training state.
///
/// One file per checkpoint, `checkpoints/step-00000100.safetensors`, holds every tensor of
/// both networks under its Keras name (`g/0_dense/kernel`, `g/1_batchnormalization/moving_mean`)
/// and each optimizer slot under `optimizer/<name>/<slot>` (`optimizer/g/0_dense/kernel/m`);
/// its metadata carries the step, the model and each optimizer's iteration count.
/// `checkpoints/latest.json` names the newest file. Both are written atomically.
public enum Checkpoint {
    /// The metadata key holding the number of completed steps.
    public static let stepKey = "step"

    /// The file name of the checkpoint after `step` steps.
    public static func fileName(step: Int) -> String {
        "step-" + String(repeating: "0", count: max(0, 8 - String(step).count)) + String(step) + ".safetensors"
    }

    /// Writes the checkpoint after `step` completed steps into `directory`; returns its path.
    @discardableResult
    public static func save(model: GANModel, update: LocalUpdate, step: Int, metadata: [String: String] = [:],
                            directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var tensors = model.namedParameters.map { (name: $0.name, tensor: $0.parameter.value) }
        var meta = metadata
        meta[stepKey] = String(step)
        meta["model"] = model.kind.rawValue
        meta["format"] = "agon-checkpoint-1"
        for network in GANNetwork.allCases {
            let optimizer = update.optimizer(for: network)
            let names = parameterNames(model, network)
            for slot in optimizer.slots {
                tensors.append((name: "optimizer/\(names[slot.parameter])/\(slot.name)", tensor: slot.tensor))
            }
            meta["optimizer/\(network.rawValue)/iterations"] = String(optimizer.iterations)
        }
        let path = directory + "/" + fileName(step: step)
        try SafeTensors(metadata: meta, tensors: tensors).write(to: path)
        let manifest: [String: Any] = ["step": step, "file": fileName(step: step), "model": model.kind.rawValue]
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        try writeFileAtomically(Array(json), to: directory + "/latest.json")
        return path
    }

    /// Restores parameters, moving statistics and optimizer state from `path`; returns the step
    /// and the file's metadata.
    ///
    /// Every tensor the model and optimizers have must be in the file with the same shape.
    public static func restore(path: String, model: GANModel, update: LocalUpdate) throws -> (step: Int, metadata: [String: String]) {
        let file = try SafeTensors.read(path: path)
        func tensor(_ name: String, shape: [Int]) throws -> Tensor {
            guard let t = file[name] else {
                throw CheckpointError(.invalidHeader, "\(path): no tensor \(name); is it a checkpoint of a \(model.kind.rawValue) model?")
            }
            guard t.shape == shape else {
                throw CheckpointError(.sizeMismatch, "\(path): \(name) has shape \(t.shape), the model needs \(shape)")
            }
            return t
        }
        for (name, p) in model.namedParameters { p.value.copy(from: try tensor(name, shape: p.shape)) }
        for network in GANNetwork.allCases {
            let optimizer = update.optimizer(for: network)
            let names = parameterNames(model, network)
            for slot in optimizer.slots {
                slot.tensor.copy(from: try tensor("optimizer/\(names[slot.parameter])/\(slot.name)", shape: slot.tensor.shape))
            }
            optimizer.iterations = Int(file.metadata["optimizer/\(network.rawValue)/iterations"] ?? "") ?? 0
        }
        guard let step = Int(file.metadata[stepKey] ?? "") else {
            throw CheckpointError(.invalidMetadata, "\(path): metadata has no step count")
        }
        return (step, file.metadata)
    }

    /// The newest checkpoint in `directory` named by `latest.json`, if any.
    public static func latest(in directory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: directory + "/latest.json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let file = object["file"] as? String else { return nil }
        return directory + "/" + file
    }

    private static func parameterNames(_ model: GANModel, _ network: GANNetwork) -> [String] {
        let net = network == .generator ? model.generator : model.discriminator
        return net.namedParameters.filter { $0.parameter.isTrainable }.map(\.name)
    }
}
