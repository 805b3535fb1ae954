import Imaging
import Testing

@testable import EmbeddingService

@Suite struct ImageBackendConfigurationTests {
    @Test func torchvisionIsTheDefaultAndPilCanBeChosen() throws {
        #expect(try ServiceConfiguration.fromEnvironment([:]).imageBackend == .torchvision)
        #expect(try ServiceConfiguration.fromEnvironment(["COLPALI_IMAGE_BACKEND": "PIL"]).imageBackend == .pil)
        #expect(try ServiceConfiguration.fromEnvironment(["COLPALI_IMAGE_BACKEND": "torchvision"]).imageBackend == .torchvision)
    }

    @Test func anotherBackendNamesTheVariable() {
        #expect {
            try ServiceConfiguration.fromEnvironment(["COLPALI_IMAGE_BACKEND": "opencv"])
        } throws: { error in
            "\(error)".contains("COLPALI_IMAGE_BACKEND") && "\(error)".contains("torchvision or pil")
        }
    }
}
