//! The store's own tests: orphans, feed positions, purging, the answered bit.
use super::*;
use crate::crypto::{Receipt, TeamKeys};

fn options() -> StoreOptions {
    StoreOptions {
        cache_bytes: 8 * 1024 * 1024,
        reserve_bytes: 0,
        sweep: true,
    }
}

fn files(store: &Store) -> usize {
    std::fs::read_dir(&store.attachments).unwrap().count()
}

#[tokio::test]
async fn orphan_chunks_are_swept_and_committed_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
    {
        let store = Store::open(dir.path(), &options()).unwrap();
        // An upload that committed.
        let receipt = Receipt::generate().unwrap();
        let (lookup, reporter) = receipt.derive().unwrap();
        let mut sealer = crate::crypto::blob_sealer(
            &crate::crypto::AttachmentKey::generate(),
            store.new_blob().unwrap(),
        )
        .unwrap();
        sealer.write(&[7u8; 100_000]).unwrap();
        let blob = sealer.finish().unwrap();
        let event = keys.seal(None, b"event").unwrap();
        store
            .create_report(
                &lookup,
                &reporter.recipient(),
                vec![NewEvent {
                    sealed: event,
                    blob: Some(blob),
                }],
            )
            .await
            .unwrap();
        assert_eq!(files(&store), 1);
        // An upload cut off by a crash: its writer never ran its clean-up.
        std::fs::write(blob::path(&store.attachments, BlobId([9; 16])), b"x").unwrap();
        assert_eq!(files(&store), 2);
        store.sync().await.unwrap();
    }
    // sled frees its file lock lazily (epoch-based reclamation): retry a while.
    let mut reopened = None;
    for _ in 0..100 {
        match Store::open(dir.path(), &options()) {
            Ok(store) => {
                reopened = Some(store);
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    let store = reopened.expect("reopen the store");
    assert_eq!(store.reports().unwrap().len(), 1);
    let id = store.reports().unwrap()[0].0;
    let events = store.events(id).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(files(&store), 1, "the orphan's file was not swept");
}

#[tokio::test]
async fn feed_positions_are_never_reused_after_a_purge() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
    async fn new_report(store: &Store, keys: &TeamKeys) -> ReportId {
        let (lookup, reporter) = Receipt::generate().unwrap().derive().unwrap();
        let sealed = keys.seal(None, b"event").unwrap();
        store
            .create_report(
                &lookup,
                &reporter.recipient(),
                vec![NewEvent { sealed, blob: None }],
            )
            .await
            .unwrap()
    }
    let last = {
        let store = Store::open(dir.path(), &options()).unwrap();
        new_report(&store, &keys).await;
        let newest = new_report(&store, &keys).await;
        let last = store.feed_after(0, 10).unwrap().last().unwrap().cursor;
        store.purge(newest).await.unwrap();
        last
    };
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(store) = Store::open(dir.path(), &options()) {
            reopened = Some(store);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let store = reopened.expect("reopen the store");
    new_report(&store, &keys).await;
    // A client that had read up to `last` must still see the new report.
    let after = store.feed_after(last, 10).unwrap();
    assert_eq!(after.len(), 1);
    assert!(after[0].cursor > last);
}

#[tokio::test]
async fn purge_removes_every_key_of_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
    let store = Store::open(dir.path(), &options()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (lookup, reporter) = Receipt::generate().unwrap().derive().unwrap();
        let mut sealer = crate::crypto::blob_sealer(
            &crate::crypto::AttachmentKey::generate(),
            store.new_blob().unwrap(),
        )
        .unwrap();
        sealer.write(&[1u8; 50_000]).unwrap();
        let blob = sealer.finish().unwrap();
        let big_event = keys.seal(None, &vec![2u8; 100_000]).unwrap();
        let id = store
            .create_report(
                &lookup,
                &reporter.recipient(),
                vec![NewEvent {
                    sealed: big_event,
                    blob: Some(blob),
                }],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let before = store.tree.len();
    store.purge(ids[0]).await.unwrap();
    let left: Vec<Vec<u8>> = store
        .tree
        .iter()
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    assert!(left.len() < before);
    for key in &left {
        assert!(
            !key.windows(8).any(|w| w == ids[0].as_bytes()),
            "key {key:?} of the purged report remains"
        );
    }
    assert_eq!(store.reports().unwrap().len(), 1);
    assert_eq!(store.events(ids[1]).unwrap().len(), 1);
    assert_eq!(files(&store), 1);
    assert_eq!(store.feed_after(0, 100).unwrap().len(), 1);
}

#[tokio::test]
async fn only_a_members_event_marks_a_report_answered_and_nothing_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
    let store = Store::open(dir.path(), &options()).unwrap();
    let event = || NewEvent {
        sealed: keys.seal(None, b"event").unwrap(),
        blob: None,
    };
    let (lookup, reporter) = Receipt::generate().unwrap().derive().unwrap();
    let id = store
        .create_report(&lookup, &reporter.recipient(), vec![event()])
        .await
        .unwrap();
    let answered = || store.report(id).unwrap().unwrap().answered;
    assert!(!answered());
    assert_eq!(
        store.unanswered_days().unwrap(),
        vec![crate::clock::today()]
    );
    // The reporter's message and a member's grant answer nothing.
    store.append(id, vec![event()]).await.unwrap();
    let grant = (id, keys.seal(None, b"grant").unwrap());
    store.append_each(vec![grant]).await.unwrap();
    assert!(!answered());
    assert_eq!(store.census().unwrap().waiting, 1);
    store.append_from_team(id, vec![event()]).await.unwrap();
    assert!(answered());
    store.append(id, vec![event()]).await.unwrap();
    assert!(answered());
    assert!(store.unanswered_days().unwrap().is_empty());
    let census = store.census().unwrap();
    assert_eq!((census.reports, census.waiting, census.events), (1, 0, 5));
}
