//! A connector from the future: it speaks `apiary:connector@0.9.0`, which this host does not
//! load. The host must say so, naming the versions it supports.

wit_bindgen::generate!({ path: "wit", world: "connector" });

struct Future;

impl Guest for Future {
    fn manifest() -> apiary::connector::types::Manifest {
        apiary::connector::types::Manifest { name: "future".into() }
    }
}

export!(Future);
