/// The OpenAPI 3.1 description served at /openapi.json, and the Swagger UI page at /docs.
///
/// Written by hand rather than generated: the API is small and fixed by the contract of the
/// service it replaces, and the document's shape is checked by a validator in the tests.
public enum OpenAPIDocument {
    public static func json(version: String) -> String {
        template.replacingOccurrences(of: "__VERSION__", with: version.replacingOccurrences(of: "\"", with: ""))
            .replacingOccurrences(of: "__MAX_POOL_FACTOR__", with: String(EmbeddingOptions.maxPoolFactor))
    }

    /// Swagger UI with syntax highlighting off (embedding payloads are huge), loading its
    /// assets from /docs/ rather than a CDN.
    public static let docsPage = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>ColModernVBert Embedding API - Swagger UI</title>
        <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
        </head>
        <body>
        <div id="swagger-ui"></div>
        <script src="/docs/swagger-ui-bundle.js"></script>
        <script>
        window.ui = SwaggerUIBundle({
          url: "/openapi.json",
          dom_id: "#swagger-ui",
          layout: "BaseLayout",
          deepLinking: true,
          showExtensions: true,
          showCommonExtensions: true,
          syntaxHighlight: false,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
        });
        </script>
        </body>
        </html>
        """

    private static let template = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "ColModernVBert Embedding API",
            "version": "__VERSION__",
            "description": "Multi-vector (ColBERT-style) embeddings of text queries and document-page images with ColModernVBert. When the service is configured with API keys (COLPALI_API_KEYS, COLPALI_API_KEYS_FILE), every path but /health needs `Authorization: Bearer <key>` and answers 401 without it."
          },
          "security": [{}, {"bearerKey": []}],
          "paths": {
            "/": {
              "get": {
                "summary": "Root",
                "operationId": "root",
                "responses": {"200": {"description": "Service name and version", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Root"}}}}}
              }
            },
            "/health": {
              "get": {
                "summary": "Health",
                "operationId": "health",
                "security": [{}],
                "responses": {
                  "200": {"description": "The model is loaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                  "503": {"description": "The model is still downloading or loading", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Warming"}}}}
                }
              }
            },
            "/info": {
              "get": {
                "summary": "Model information",
                "operationId": "info",
                "responses": {
                  "200": {"description": "Model and runtime details", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Info"}}}},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/patches": {
              "post": {
                "summary": "Patch grid of images of given sizes",
                "operationId": "patches",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PatchesRequest"}}}},
                "responses": {
                  "200": {"description": "One result per dimension, in order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PatchesResponse"}}}},
                  "422": {"$ref": "#/components/responses/ValidationFailed"}
                }
              }
            },
            "/embed/queries": {
              "post": {
                "summary": "Embed text queries",
                "operationId": "embedQueries",
                "parameters": [{"$ref": "#/components/parameters/Encoding"}, {"$ref": "#/components/parameters/DType"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueriesRequest"}}}},
                "responses": {
                  "200": {"description": "One embedding per query, in order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueryEmbeddings"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "422": {"$ref": "#/components/responses/ValidationFailed"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/embed/images": {
              "post": {
                "summary": "Embed document-page images",
                "operationId": "embedImages",
                "parameters": [{"$ref": "#/components/parameters/Encoding"}, {"$ref": "#/components/parameters/DType"}, {"$ref": "#/components/parameters/PoolFactor"}],
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/ImagesForm"}}}},
                "responses": {
                  "200": {"description": "One item per file, in order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageEmbeddings"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "413": {"$ref": "#/components/responses/TooLarge"},
                  "422": {"$ref": "#/components/responses/ValidationFailed"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/heatmap": {
              "post": {
                "summary": "Similarity heatmap of a query over an image",
                "operationId": "heatmap",
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/HeatmapForm"}}}},
                "responses": {
                  "200": {"description": "Normalised per-patch scores laid out like the image", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Heatmap"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "413": {"$ref": "#/components/responses/TooLarge"},
                  "422": {"$ref": "#/components/responses/ValidationFailed"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearerKey": {"type": "http", "scheme": "bearer", "description": "One of the configured API keys (only when keys are configured)."}
            },
            "parameters": {
              "Encoding": {"name": "encoding", "in": "query", "required": false, "description": "How each embedding is written: `float` (JSON arrays of floats, the default) or `base64` (an EncodedTokenVectors object). May also be given in the body; both must agree.", "schema": {"$ref": "#/components/schemas/EncodingName"}},
              "DType": {"name": "dtype", "in": "query", "required": false, "description": "With encoding=base64: `float32` (the default, bit-exact to the JSON floats) or `float16` (rounded to nearest even). May also be given in the body; both must agree.", "schema": {"$ref": "#/components/schemas/DTypeName"}},
              "PoolFactor": {"name": "pool_factor", "in": "query", "required": false, "description": "Pool the image-patch vectors of each image (colpali-engine's hierarchical token pooling: Ward linkage, max(n // pool_factor, 1) clusters, means re-normalised); text-token vectors are kept. 1 (the default) leaves them as they are. May also be given as a form field; both must agree.", "schema": {"$ref": "#/components/schemas/PoolFactor"}}
            },
            "responses": {
              "BadRequest": {"description": "Bad input", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "TooLarge": {"description": "Request too large", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Unavailable": {"description": "The model is not ready yet", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "ValidationFailed": {"description": "Validation error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}}}
            },
            "schemas": {
              "Root": {"type": "object", "required": ["message", "version"], "properties": {"message": {"type": "string"}, "version": {"type": "string"}}},
              "Health": {"type": "object", "required": ["status", "device"], "properties": {"status": {"type": "string", "const": "healthy"}, "device": {"type": "string", "examples": ["cpu", "cuda:0"]}}},
              "Warming": {"type": "object", "required": ["status", "detail"], "properties": {"status": {"type": "string", "enum": ["downloading", "loading", "failed"]}, "detail": {"type": "string"}, "progress": {"type": "number", "minimum": 0, "maximum": 1}}},
              "Info": {
                "type": "object",
                "required": ["version", "model_id", "device", "dtype", "flash_attn", "spatial_merge_size", "dim", "image_token_id", "image_seq_len"],
                "properties": {
                  "version": {"type": "string"},
                  "model_id": {"type": "string"},
                  "device": {"type": "string"},
                  "dtype": {"type": "string", "enum": ["torch.float32", "torch.bfloat16", "torch.float16"]},
                  "flash_attn": {"type": "boolean"},
                  "spatial_merge_size": {"type": "null"},
                  "dim": {"type": "integer"},
                  "image_token_id": {"type": "integer"},
                  "image_seq_len": {"type": "integer"},
                  "vision_dtype": {"type": "string", "enum": ["torch.float32", "torch.bfloat16", "torch.float16"], "description": "dtype of the vision tower and connector"},
                  "text_dtype": {"type": "string", "enum": ["torch.float32", "torch.bfloat16", "torch.float16"], "description": "dtype of the text tower and head (queries); equals dtype"},
                  "cpu_isa": {"type": ["string", "null"], "enum": ["amx_bf16", "avx512_bf16", "avx512", "avx2", "baseline", null], "description": "CPU tier the compute paths were chosen for; null on a GPU"},
                  "text_kernel": {"type": ["string", "null"], "enum": ["panels-avx512", "panels-avx2", "oneDNN", "libtorch", null], "description": "float32 CPU linear kernel of the text tower (queries); null on a GPU"},
                  "vision_kernel": {"type": ["string", "null"], "enum": ["oneDNN", "libtorch", null], "description": "CPU linear kernel of the vision tower and connector (oneDNN's matmul with bias and GELU fused, on CPUs with AVX-512); null on a GPU"}
                }
              },
              "Dimension": {"type": "object", "required": ["width", "height"], "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}}},
              "PatchesRequest": {"type": "object", "required": ["dimensions"], "properties": {"dimensions": {"type": "array", "items": {"$ref": "#/components/schemas/Dimension"}}}},
              "PatchResult": {
                "type": "object",
                "required": ["width", "height"],
                "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}, "n_patches_x": {"type": "integer"}, "n_patches_y": {"type": "integer"}, "error": {"type": "string"}}
              },
              "PatchesResponse": {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/PatchResult"}}}},
              "QueriesRequest": {
                "type": "object",
                "required": ["queries"],
                "properties": {
                  "queries": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                  "encoding": {"$ref": "#/components/schemas/EncodingName"},
                  "dtype": {"$ref": "#/components/schemas/DTypeName"}
                }
              },
              "EncodingName": {"type": "string", "enum": ["float", "json", "base64"], "default": "float"},
              "DTypeName": {"type": "string", "enum": ["float32", "float16"], "default": "float32"},
              "PoolFactor": {"type": "integer", "minimum": 1, "maximum": __MAX_POOL_FACTOR__, "default": 1},
              "TokenVectors": {"type": "array", "description": "One vector of `dim` floats per token", "items": {"type": "array", "items": {"type": "number"}}},
              "EncodedTokenVectors": {
                "type": "object",
                "description": "The token vectors as one base64 string (RFC 4648, padded) of little-endian values, row-major; in numpy: np.frombuffer(base64.b64decode(data), dtype='<f4' or '<f2').reshape(shape)",
                "required": ["dtype", "shape", "data"],
                "properties": {
                  "dtype": {"$ref": "#/components/schemas/DTypeName"},
                  "shape": {"type": "array", "description": "[tokens, dim]", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
                  "data": {"type": "string", "contentEncoding": "base64"}
                }
              },
              "Embedding": {"anyOf": [{"$ref": "#/components/schemas/TokenVectors"}, {"$ref": "#/components/schemas/EncodedTokenVectors"}], "description": "JSON floats by default; an EncodedTokenVectors object with encoding=base64"},
              "QueryEmbeddings": {"type": "object", "required": ["embeddings"], "properties": {"embeddings": {"type": "array", "items": {"$ref": "#/components/schemas/Embedding"}}}},
              "ImageEmbedding": {
                "type": "object",
                "required": ["embedding", "image_patch_start", "image_patch_len", "image_patch_indices"],
                "properties": {
                  "embedding": {"$ref": "#/components/schemas/Embedding"},
                  "image_patch_start": {"type": "integer", "description": "Row of the first image-patch vector (pooled: of the first pooled vector)"},
                  "image_patch_len": {"type": "integer", "description": "How many vectors stand for the image (pooled: the pooled vectors)"},
                  "image_patch_indices": {"type": "array", "items": {"type": "integer"}},
                  "pool_factor": {"type": "integer", "description": "Present only when pooled: rows are the text tokens before the first patch, the pooled vectors, then the other text tokens in order"}
                }
              },
              "ImageEmbeddings": {"type": "object", "required": ["embeddings"], "properties": {"embeddings": {"type": "array", "items": {"$ref": "#/components/schemas/ImageEmbedding"}}}},
              "ImagesForm": {
                "type": "object",
                "required": ["files"],
                "properties": {
                  "files": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"}},
                  "encoding": {"$ref": "#/components/schemas/EncodingName"},
                  "dtype": {"$ref": "#/components/schemas/DTypeName"},
                  "pool_factor": {"$ref": "#/components/schemas/PoolFactor"}
                }
              },
              "HeatmapForm": {
                "type": "object",
                "required": ["query", "image"],
                "properties": {
                  "query": {"type": "string"},
                  "image": {"type": "string", "contentMediaType": "application/octet-stream"},
                  "aggregate": {"type": "string", "default": "max", "description": "max, mean or sum; anything else means max"}
                }
              },
              "Heatmap": {
                "type": "object",
                "required": ["image_width", "image_height", "grid_rows", "grid_columns", "aggregate", "min_score", "max_score", "heatmap"],
                "properties": {
                  "image_width": {"type": "integer"},
                  "image_height": {"type": "integer"},
                  "grid_rows": {"type": "integer"},
                  "grid_columns": {"type": "integer"},
                  "aggregate": {"type": "string", "enum": ["max", "mean", "sum"]},
                  "min_score": {"type": "number"},
                  "max_score": {"type": "number"},
                  "heatmap": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
                }
              },
              "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
              "ValidationError": {
                "type": "object",
                "required": ["detail"],
                "properties": {
                  "detail": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": ["loc", "msg", "type"],
                      "properties": {"loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}, "msg": {"type": "string"}, "type": {"type": "string"}}
                    }
                  }
                }
              }
            }
          }
        }
        """#
}
