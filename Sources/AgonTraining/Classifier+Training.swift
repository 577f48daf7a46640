// Training the classifier: Adam on the mean softmax cross-entropy, the data set visited in a
// seeded order per epoch.
import AgonNN
import AgonTensor

extension Classifier {
    /// The whole steps of one epoch over `examples` images at `batch` per step; the remainder
    /// of each epoch's order is skipped, as `BatchSchedule` does.
    public static func stepsPerEpoch(examples: Int, batch: Int) -> Int {
        examples / batch
    }

    /// Trains for `epochs` epochs with Adam (Keras defaults but for `learningRate`) on
    /// batches of `batch` images, calling `progress` after every step with the epoch (from 1,
    /// counted over the classifier's life), the step within it (from 1) and the step's loss.
    ///
    /// Epoch e visits the data in `BatchSchedule`'s order for the classifier's seed and e, so a
    /// second call continues with the next epoch, and Adam with its moments.
    ///
    /// - Precondition: the dataset holds 28×28 images labelled 0…9, at least `batch` of them.
    /// - Throws: `TrainingError` with code `.diverged` when a step's loss is not finite.
    public func train(dataset: ImageDataset, epochs: Int, batch: Int, learningRate: Float,
                      progress: (_ epoch: Int, _ step: Int, _ loss: Float) -> Void = { _, _, _ in }) throws {
        precondition(epochs >= 0 && batch >= 1, "classifier: train needs epochs ≥ 0 and batch ≥ 1, got \(epochs) and \(batch)")
        precondition(dataset.height == 28 && dataset.width == 28,
                     "classifier: trains on 28×28 images, the dataset's are \(dataset.height)×\(dataset.width)")
        precondition(dataset.classes <= Self.classes, "classifier: labels must be 0..<\(Self.classes), the dataset has \(dataset.classes) classes")
        precondition(dataset.count >= batch, "classifier: \(dataset.count) images are fewer than one batch of \(batch)")
        let adam = optimizer ?? Adam(parameters: network.trainableParameters, learningRate: learningRate)
        adam.learningRate = learningRate
        optimizer = adam
        let schedule = BatchSchedule(datasetCount: dataset.count, batchPerWorker: batch, workers: 1, seed: seed)
        let images = Tensor(zeros: [batch] + Self.imageShape)
        for _ in 0..<epochs {
            for stepInEpoch in 0..<schedule.stepsPerEpoch {
                let indices = schedule.indices(epoch: epochsTrained, stepInEpoch: stepInEpoch, rank: 0)
                dataset.fillImages(indices: indices, into: images.pointer)
                let loss = computeGradients(images: images, labels: dataset.labels(at: indices), step: stepsTrained)
                guard loss.isFinite else {
                    throw TrainingError(.diverged, path: "classifier step \(stepsTrained + 1)",
                                        "loss is \(loss); training stopped. Try a smaller --lr")
                }
                adam.step()
                stepsTrained += 1
                progress(epochsTrained + 1, stepInEpoch + 1, loss)
            }
            epochsTrained += 1
        }
    }

    /// Runs the network in training mode (Dropout's masks drawn for `step`) and sets every
    /// parameter's gradient to that of the mean softmax cross-entropy over the batch:
    /// ```
    /// L = −(1/B) Σ_b log softmax(f(x_b))[y_b]
    /// ```
    /// Returns L. Gradients are overwritten, not added to.
    public func computeGradients(images: Tensor, labels: [Int], step: Int) -> Float {
        precondition(images.rows == labels.count, "classifier: \(labels.count) labels for images \(images.shape)")
        network.zeroGradients()
        let logits = network.forward(images, context: ForwardContext(training: true, step: step))
        let dLogits = logitGradient(batch: images.rows)
        let loss = SoftmaxCrossEntropy.loss(logits: logits, labels: labels, gradient: dLogits)
        // The first layer's input gradient is never needed: images are data, not parameters.
        network.backward(dLogits, parameterGradients: true, inputGradient: false)
        return loss
    }

    /// The mean softmax cross-entropy of `images` against `labels` in inference mode.
    public func loss(images: Tensor, labels: [Int]) -> Float {
        SoftmaxCrossEntropy.loss(logits: logits(images), labels: labels)
    }

    /// dLoss/dlogits `(batch, 10)`, made once per batch size.
    private func logitGradient(batch: Int) -> Tensor {
        if let gradient = logitGradients[batch] { return gradient }
        let gradient = Tensor(zeros: [batch, Self.classes])
        logitGradients[batch] = gradient
        return gradient
    }
}
