//! ONNX export: the network as a standard ONNX graph, for any runtime that reads ONNX
//! (ONNX Runtime, tract, OpenCV's DNN module, browsers through onnxruntime-web, …).
//!
//! The graph, opset 13:
//!
//! ```text
//! input [N, inputs] (float, pixels in [0, 1]) → Gemm(W₁, b₁) → Relu|Sigmoid → … → Gemm(W_L, b_L) → Softmax(axis 1) → probabilities [N, classes]
//! ```
//!
//! `Gemm` computes `Y = A·B + C`: with rows as samples and `W` stored inputs × outputs, ffnn's
//! `Z = X·W + b` is one `Gemm` with no transposition. The weights are initializers (raw
//! little-endian `f32`). The model's metadata (`metadata_props`) holds the class names (a JSON
//! array, `class_names`), the dataset's name and the input's image shape.
//!
//! The messages below are the subset of `onnx.proto` (ONNX's protobuf schema) that such a graph
//! uses, with its field numbers, encoded by `prost`: a `oneof` of one member is written as that
//! member's field, which is what it is on the wire.

use super::{Activation, Model};
use crate::data::Classes;

/// The ONNX IR version written (ONNX 1.7: opsets up to 13).
pub const IR_VERSION: i64 = 7;
/// The opset of the default domain the graph uses.
pub const OPSET: i64 = 13;

/// `onnx.ModelProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The producer (`ffnn`).
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// Its version.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// A description.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// The opsets the graph uses.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// `onnx.OperatorSetIdProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The operator domain (empty: the default `ai.onnx`).
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The opset version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `onnx.StringStringEntryProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `onnx.GraphProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, in topological order.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (the weights).
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// The graph's inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `onnx.NodeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Input value names.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Output value names.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator (`Gemm`, `Relu`, …).
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// Its attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `onnx.AttributeProto`, integer attributes only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its integer value.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// Its type (`AttributeType.INT` = 2).
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// `onnx.TensorProto`, `f32` data as raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Its shape.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// The element type (`TensorProto.FLOAT` = 1).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// Its name (what nodes call it).
    #[prost(string, tag = "8")]
    pub name: String,
    /// The values, little-endian.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// `onnx.ValueInfoProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `onnx.TypeProto` (its `tensor_type` member).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// A tensor's element type and shape.
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `onnx.TypeProto.Tensor`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTypeProto {
    /// The element type (`FLOAT` = 1).
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `onnx.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `onnx.TensorShapeProto.Dimension`: a size or a symbolic name (one of the two).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// A fixed size.
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// A symbolic size (`N`, the batch).
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;
/// `AttributeProto.AttributeType.INT`.
const INT: i32 = 2;

/// A float tensor value of shape `[N, size]`.
fn batch_of(name: &str, size: usize) -> ValueInfoProto {
    let dims = vec![
        Dimension { dim_value: None, dim_param: Some("N".into()) },
        Dimension { dim_value: Some(size as i64), dim_param: None },
    ];
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto { elem_type: FLOAT, shape: Some(TensorShapeProto { dim: dims }) }),
        }),
    }
}

/// An `f32` initializer.
fn tensor(name: String, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        name,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A node with no attributes but those given.
fn node(op: &str, name: String, input: Vec<String>, output: String, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto { input, output: vec![output], name, op_type: op.into(), attribute }
}

/// The ONNX model of `model`: input `input` `[N, inputs]`, output `probabilities`
/// `[N, classes]`, with `classes` in its metadata.
pub fn model_to_onnx(model: &Model, classes: &Classes) -> ModelProto {
    let mut nodes = vec![];
    let mut initializers = vec![];
    let mut current = "input".to_string();
    let layers = model.layers.len();
    for (l, layer) in model.layers.iter().enumerate() {
        let (w, b, z) = (format!("W{}", l + 1), format!("b{}", l + 1), format!("Z{}", l + 1));
        initializers.push(tensor(w.clone(), &[layer.weight.rows, layer.weight.cols], &layer.weight.data));
        initializers.push(tensor(b.clone(), &[layer.bias.len()], &layer.bias));
        nodes.push(node("Gemm", format!("linear{}", l + 1), vec![current, w, b], z.clone(), vec![]));
        current = z;
        if l + 1 < layers {
            let op = match model.activation {
                Activation::Relu => "Relu",
                Activation::Sigmoid => "Sigmoid",
            };
            let a = format!("A{}", l + 1);
            nodes.push(node(op, format!("{}{}", op.to_lowercase(), l + 1), vec![current], a.clone(), vec![]));
            current = a;
        }
    }
    let axis = AttributeProto { name: "axis".into(), i: 1, r#type: INT };
    nodes.push(node("Softmax", "softmax".into(), vec![current], "probabilities".into(), vec![axis]));
    let metadata = [
        ("class_names", serde_json::to_string(&classes.names).expect("strings serialize")),
        ("dataset", classes.dataset.clone()),
        ("input_shape", format!("{}x{}", model.input_shape.0, model.input_shape.1)),
        ("architecture", model.describe()),
    ];
    ModelProto {
        ir_version: IR_VERSION,
        producer_name: "ffnn".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "{} ({}): input pixels in [0, 1], one image of {}x{} a row; output class probabilities",
            model.describe(),
            if classes.dataset.is_empty() { "ffnn" } else { &classes.dataset },
            model.input_shape.0,
            model.input_shape.1
        ),
        graph: Some(GraphProto {
            node: nodes,
            name: "ffnn".into(),
            initializer: initializers,
            input: vec![batch_of("input", model.inputs())],
            output: vec![batch_of("probabilities", model.classes())],
        }),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        metadata_props: metadata.into_iter().map(|(key, value)| StringStringEntryProto { key: key.into(), value }).collect(),
    }
}

/// The bytes of the `.onnx` file of `model`.
pub fn onnx_bytes(model: &Model, classes: &Classes) -> Vec<u8> {
    prost::Message::encode_to_vec(&model_to_onnx(model, classes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Init;
    use prost::Message;
    use rand::SeedableRng;

    #[test]
    fn the_graph_is_gemm_activation_gemm_softmax_and_decodes_back() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let model = Model::new(&[4, 3, 2], Activation::Sigmoid, Init::He, &mut rng);
        let classes = Classes { names: vec!["cat".into(), "dog".into()], dataset: "pets".into() };
        let bytes = onnx_bytes(&model, &classes);
        let back = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, model_to_onnx(&model, &classes));
        let graph = back.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Gemm", "Sigmoid", "Gemm", "Softmax"]);
        assert_eq!(graph.initializer[0].dims, [4, 3]);
        assert_eq!(graph.initializer[0].raw_data.len(), 12 * 4);
        assert_eq!(f32::from_le_bytes(graph.initializer[0].raw_data[..4].try_into().unwrap()), model.layers[0].weight.data[0]);
        assert_eq!(back.metadata_props[0].value, r#"["cat","dog"]"#);
        assert_eq!(back.opset_import[0].version, 13);
    }
}
