//! Weights on disk: `.hsm` export/import (full and half precision, bad files) and the
//! torchvision ResNet-50 import on a state dict the test writes with torchvision's names.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, bridge};
use common::*;
use histoseg_model::ModelConfig;
use histoseg_model::weights::{ModelSpec, export_hsm, import_hsm, load_torchvision_resnet};

fn spec(config: ModelConfig) -> ModelSpec {
    ModelSpec {
        config,
        preprocess: true,
        tile: 256,
        threshold: 0.5,
        min_area: 8,
        split_depth: 3.0,
        mpp: None,
    }
}

/// Trains one step so batch-norm statistics differ from their initial values.
fn trained(config: &ModelConfig) -> histoseg_model::Segmenter {
    let device = Device::flex().autodiff();
    let model = config.init(&device).expect("valid");
    let _ = model.forward(input([2, 3, 64, 64], &device));
    model.valid()
}

#[test]
fn hsm_round_trip_gives_the_same_outputs() {
    let device = Device::flex();
    for config in [small_unet(), small_resnet()] {
        let model = config.init(&device).expect("valid").valid();
        let x = input([1, 3, 48, 40], &device);
        let before = values(model.forward(x.clone()));
        let bytes = export_hsm(&model, &spec(config.clone()), false).expect("export");
        let (back, back_spec) = import_hsm(&bytes, "test.hsm", &device).expect("import");
        assert_eq!(back_spec, spec(config.clone()));
        assert_eq!(max_diff(&before, &values(back.forward(x.clone()))), 0.0);

        let half = export_hsm(&model, &spec(config.clone()), true).expect("export f16");
        assert!(
            half.len() < bytes.len() * 7 / 10,
            "{} vs {}",
            half.len(),
            bytes.len()
        );
        let (back, _) = import_hsm(&half, "half.hsm", &device).expect("import f16");
        let d = max_diff(&before, &values(back.forward(x)));
        assert!(d > 0.0 && d < 2e-2, "half precision drift {d}");
    }
}

#[test]
fn hsm_keeps_batch_norm_statistics() {
    let device = Device::flex();
    let config = small_unet();
    let model = trained(&config);
    let x = input([1, 3, 32, 32], &device);
    let before = values(model.forward(x.clone()));
    let fresh = values(
        config
            .init(&device)
            .expect("valid")
            .valid()
            .forward(x.clone()),
    );
    assert!(max_diff(&before, &fresh) > 0.0);
    let bytes = export_hsm(&model, &spec(config), false).expect("export");
    let (back, _) = import_hsm(&bytes, "m.hsm", &device).expect("import");
    assert!(max_diff(&before, &values(back.forward(x))) < 1e-6);
}

#[test]
fn bad_model_files_are_named_and_explained() {
    let device = Device::flex();
    let model = small_unet().init(&device).expect("valid");
    let bytes = export_hsm(&model, &spec(small_unet()), false).expect("export");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not a model at all".to_vec(), "signature"),
        (bytes[..6].to_vec(), "signature"),
        ([&bytes[..8], b"{oops"].concat(), "past the end"),
        (bytes[..bytes.len() / 2].to_vec(), "tensors"),
    ];
    for (bad, expected) in cases {
        let message = import_hsm(&bad, "broken.hsm", &device)
            .map(|_| ())
            .expect_err("bad file")
            .to_string();
        assert!(
            message.contains("broken.hsm") && message.contains(expected),
            "{message}"
        );
    }
    // A header that describes another architecture than the tensors.
    let other = export_hsm(&model, &spec(small_resnet()), false).expect("export");
    let message = import_hsm(&other, "swapped.hsm", &device)
        .map(|_| ())
        .expect_err("mismatch")
        .to_string();
    assert!(message.contains("swapped.hsm"), "{message}");
}

/// Writes a SafeTensors file by hand (8-byte header length, JSON header, little-endian data).
fn write_safetensors(path: &Path, tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, (shape, values)) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&header).expect("json");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    std::fs::write(path, bytes).expect("write");
}

/// A torchvision-named state dict for `small_encoder()`, with distinct values per tensor, plus
/// torchvision's extras (`fc.*`, `num_batches_tracked`).
fn torchvision_state_dict() -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let device = Device::flex();
    let encoder = small_encoder().init(&device).expect("valid");
    let mut dict = BTreeMap::new();
    for (i, t) in encoder
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .enumerate()
    {
        let name = t
            .name
            .replace(".downsample.conv.", ".downsample.0.")
            .replace(".downsample.bn.", ".downsample.1.");
        let shape: Vec<usize> = t.shape.iter().copied().collect();
        let n: usize = shape.iter().product();
        let values = (0..n)
            .map(|j| i as f32 + j as f32 / (n as f32 + 1.0))
            .collect();
        if let Some(bn) = name.strip_suffix("running_var") {
            dict.insert(format!("{bn}num_batches_tracked"), (vec![], vec![7.0]));
        }
        dict.insert(name, (shape, values));
    }
    dict.insert("fc.weight".into(), (vec![10, 128], vec![0.5; 1280]));
    dict.insert("fc.bias".into(), (vec![10], vec![0.5; 10]));
    dict
}

#[test]
fn torchvision_weights_land_where_they_belong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resnet50.safetensors");
    let dict = torchvision_state_dict();
    assert!(
        dict.contains_key("layer1.0.downsample.0.weight") && dict.contains_key("bn1.running_mean")
    );
    write_safetensors(&path, &dict);

    let device = Device::flex();
    let mut encoder = small_encoder().init(&device).expect("valid");
    let report = load_torchvision_resnet(&mut encoder, &path).expect("import");
    assert!(
        report.unused.iter().any(|u| u == "fc.weight"),
        "{:?}",
        report.unused
    );
    let mut checked = 0;
    for t in encoder.collect(None, None, true) {
        let torch_name = t
            .name
            .replace(".downsample.conv.", ".downsample.0.")
            .replace(".downsample.bn.", ".downsample.1.")
            .replace(".gamma", ".weight")
            .replace(".beta", ".bias");
        let (_, expected) = dict
            .get(&torch_name)
            .unwrap_or_else(|| panic!("{} has no source", t.name));
        let got: Vec<f32> = bridge::to_data(&t)
            .expect("data")
            .try_into_vec::<f32>()
            .expect("f32");
        assert_eq!(&got, expected, "{} <- {torch_name}", t.name);
        checked += 1;
    }
    assert_eq!(report.applied, checked);
    assert!(checked > 50, "{checked}");
}

#[test]
fn torchvision_import_refuses_wrong_shapes_and_missing_tensors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let device = Device::flex();

    let mut dict = torchvision_state_dict();
    dict.insert("layer2.0.conv2.weight".into(), (vec![3, 3], vec![0.0; 9]));
    let wrong = dir.path().join("wrong.safetensors");
    write_safetensors(&wrong, &dict);
    let mut encoder = small_encoder().init(&device).expect("valid");
    let message = load_torchvision_resnet(&mut encoder, &wrong)
        .expect_err("wrong shape")
        .to_string();
    assert!(
        message.contains("wrong.safetensors") && message.contains("layer2.0.conv2"),
        "{message}"
    );

    let mut dict = torchvision_state_dict();
    dict.remove("layer3.0.bn2.running_var");
    let missing = dir.path().join("missing.safetensors");
    write_safetensors(&missing, &dict);
    let message = load_torchvision_resnet(&mut encoder, &missing)
        .expect_err("missing")
        .to_string();
    assert!(
        message.contains("missing.safetensors") && message.contains("missing"),
        "{message}"
    );

    let message = load_torchvision_resnet(&mut encoder, &dir.path().join("weights.onnx"))
        .expect_err("format")
        .to_string();
    assert!(
        message.contains("weights.onnx") && message.contains(".pth"),
        "{message}"
    );
}
