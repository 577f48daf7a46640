// The report's "Views" section: where samples fall against real data (PCA, t-SNE), a latent
// interpolation grid and a nearest-real-neighbour grid, as `agon latent` drew them, the
// latest shown and earlier ones linked.
import Foundation

extension Report {
    /// The views `agon latent` writes under `plots/`, with the caption each gets.
    static let views = [
        ("pca.svg", "PCA of real and generated samples' features"),
        ("tsne.svg", "t-SNE of real and generated samples' features"),
        ("interpolation.png", "G along straight lines and slerp between fixed z"),
        ("nearest.png", "generated samples beside their nearest real neighbours"),
    ]

    /// The section's HTML, or a line saying how to draw the views when there are none.
    func viewsSection() -> String {
        let fm = FileManager.default
        let plots = runDirectory + "/plots"
        let latest = Self.views.filter { fm.fileExists(atPath: plots + "/" + $0.0) }
        let figures = latest.map { file, caption in
            "<figure><img src=\"plots/\(file)\" alt=\"\(escape(caption))\"><figcaption>\(escape(caption))</figcaption></figure>"
        }
        // Earlier views, one folder per checkpoint step: plots/latent/step-NNNNNNNN/.
        let earlier = ((try? fm.contentsOfDirectory(atPath: plots + "/latent")) ?? []).filter { $0.hasPrefix("step-") }.sorted().reversed()
        let links = earlier.compactMap { folder -> String? in
            let files = Self.views.map(\.0).filter { fm.fileExists(atPath: "\(plots)/latent/\(folder)/\($0)") }
            guard !files.isEmpty else { return nil }
            let step = folder.dropFirst("step-".count).drop { $0 == "0" }
            return "<li>step \(escape(step.isEmpty ? "0" : String(step))): "
                + files.map { "<a href=\"plots/latent/\(escape(folder))/\($0)\">\($0)</a>" }.joined(separator: " · ") + "</li>"
        }
        guard !figures.isEmpty || !links.isEmpty else {
            return "<p>No views yet: <code>agon latent RUN</code> draws them from a checkpoint.</p>"
        }
        return figures.joined(separator: "\n") + (links.isEmpty ? "" : "\n<p>Earlier views:</p><ul>\(links.joined(separator: "\n"))</ul>")
    }
}
