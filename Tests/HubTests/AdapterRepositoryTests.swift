import Testing

@testable import Hub

/// A PEFT adapter repository (ModernVBERT/colmodernvbert) is refused before any download, with the
/// merged repository to use instead of a missing-file error.
@Suite struct AdapterRepositoryTests {
    @Test func adapterRepositoryIsNamedAsSuch() throws {
        let listing: Set<String> = ["adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer.json"]
        let error = HubError.adapterRepository(repo: "ModernVBERT/colmodernvbert", revision: "main")
        #expect(throws: error) {
            try FileSelection.colModernVBert.plan(available: listing, repo: "ModernVBERT/colmodernvbert", revision: "main")
        }
        #expect(error.description.contains("ModernVBERT/colmodernvbert-merged"))
        // Merged weights next to an adapter config are still loaded.
        let merged = listing.union(["config.json", "model.safetensors"])
        let plan = try FileSelection.colModernVBert.plan(available: merged, repo: "r", revision: "main")
        #expect(plan.weights == .single("model.safetensors"))
    }
}
