//! Properties of configuration loading on any input: a config file of any TOML (or
//! none at all) and any `MYVID_…` overrides load or are refused with an error that
//! names the field at fault — never a panic.

use proptest::prelude::*;

use super::*;

/// Every field path (`section.field` or `field`) and section the configuration has.
fn known_paths() -> Vec<String> {
    let defaults = toml::Table::try_from(Config::default()).unwrap();
    let mut paths: Vec<String> = OPTIONAL_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    for (key, value) in &defaults {
        paths.push(key.clone());
        if let Some(section) = value.as_table() {
            paths.extend(section.keys().map(|field| format!("{key}.{field}")));
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Fields whose value decides whether another field is required: an error about a
/// change to the first may name the second.
const DEPENDENTS: &[(&str, &str)] =
    &[("sfu.media_bind", "sfu.announce_ip"), ("turn.listen", "turn.announce_ip"), ("live.relay", "live.sfu_secret")];

/// Whether `message` names `field` between backticks (alone, or with an index into
/// it: serde reads a section from an array too, and names the element at fault).
fn names(message: &str, field: &str) -> bool {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .any(|quoted| quoted.strip_prefix(field).is_some_and(|rest| rest.is_empty() || rest.starts_with(['[', '.'])))
}

/// Values of every TOML type, near and far from what fields accept.
fn value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(toml::Value::Boolean),
        prop_oneof![any::<i64>(), -2..200_000i64, Just(0i64), Just(60), Just(604_800), Just(604_801)]
            .prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        prop_oneof![
            any::<String>(),
            Just("127.0.0.1:0".to_owned()),
            Just("0.0.0.0:3478".to_owned()),
            Just("::".to_owned()),
            Just("json".to_owned()),
            Just("stun:stun.example.org:3478".to_owned()),
            Just("https://v.example.org".to_owned()),
            Just("0123456789abcdef-secret".to_owned()),
            Just("10.0.0.0/8".to_owned()),
            "[ -~]{0,20}",
        ]
        .prop_map(toml::Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| prop::collection::vec(inner, 0..3).prop_map(toml::Value::Array))
}

/// A config file: the real sections and fields (and a misspelt one), any values.
fn table() -> impl Strategy<Value = toml::Table> {
    let paths = known_paths();
    let path = prop_oneof![8 => prop::sample::select(paths), 1 => Just("uploads.max_vidoe_bytes".to_owned())];
    prop::collection::vec((path, value()), 0..6).prop_map(|entries| {
        let mut table = toml::Table::new();
        for (path, value) in entries {
            match path.split_once('.') {
                Some((section, field)) => {
                    let entry = table.entry(section).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let Some(section) = entry.as_table_mut() {
                        section.insert(field.to_owned(), value);
                    }
                }
                None => {
                    table.insert(path, value);
                }
            }
        }
        table
    })
}

/// What a shell may hold in an override: any text, TOML literals, addresses.
fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        value().prop_map(|v| v.to_string()),
        Just("0.0.0.0:40000".to_owned()),
        Just("false".to_owned()),
        "[ -~]{0,24}",
    ]
}

proptest! {
    #[test]
    fn any_toml_text_loads_or_is_refused_without_panicking(text in prop_oneof![
        any::<String>(),
        table().prop_map(|t| t.to_string()),
        "(\\[[a-z]{1,8}\\]\n)?[a-z_]{1,12} = [\"0-9a-z.:\\[\\]{} ]{0,12}\n",
    ]) {
        if let Ok(table) = text.parse::<toml::Table>() {
            let _ = Config::from_table(table, Vec::new());
        }
    }

    #[test]
    fn any_config_file_loads_or_the_error_names_a_field(table in table()) {
        let mut known = known_paths();
        known.extend(table.keys().cloned());
        known.extend(table.values().filter_map(toml::Value::as_table).flat_map(|t| t.keys().cloned()));
        if let Err(err) = Config::from_table(table, Vec::new()) {
            let message = err.to_string();
            prop_assert!(known.iter().any(|n| names(&message, n)), "{}", message);
        }
    }

    #[test]
    fn an_invalid_override_gives_an_error_naming_its_field(
        field in prop::sample::select(known_paths()),
        value in env_value(),
    ) {
        let name = format!("MYVID_{}", field.replace('.', "__").to_ascii_uppercase());
        if let Err(err) = Config::from_table(toml::Table::new(), vec![(name, value)]) {
            let message = err.to_string();
            let mut expected = vec![field.as_str()];
            expected.extend(DEPENDENTS.iter().filter(|(f, _)| *f == field).map(|(_, d)| *d));
            prop_assert!(expected.iter().any(|f| names(&message, f)), "{} should name {}", message, field);
        }
    }

    #[test]
    fn overrides_naming_no_field_are_ignored(name in "MYVID_[A-Z_]{0,20}", value in env_value()) {
        let known = known_paths().iter().any(|f| name == format!("MYVID_{}", f.replace('.', "__").to_ascii_uppercase()));
        prop_assume!(!known);
        prop_assert!(Config::from_table(toml::Table::new(), vec![(name, value)]).is_ok());
    }
}
