//! The ids the model makes up itself: a bill's, `<resource>/<n>`.

use crate::observation::Name;

/// `<resource>/<n>`, the id of a resource's n-th bill. A charge is
/// frequent, and `format!` into a `String` that the shared string then
/// copies costs a second allocation: an id of usual length is written on
/// the stack and copied once.
pub(super) fn bill_name(resource: &str, n: u32) -> Name {
    let mut buf = [0u8; 96];
    // The number's digits, right-aligned in the last ten bytes.
    let mut start = buf.len();
    let mut rest = n;
    loop {
        start -= 1;
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let digits = buf.len() - start;
    let len = resource.len() + 1 + digits;
    if len <= buf.len() - 10 {
        buf.copy_within(start.., resource.len() + 1);
        buf[..resource.len()].copy_from_slice(resource.as_bytes());
        buf[resource.len()] = b'/';
        if let Ok(id) = std::str::from_utf8(&buf[..len]) {
            return Name::from(id);
        }
    }
    Name::from(format!("{resource}/{n}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bill_is_named_as_format_would_name_it() {
        let long = "r".repeat(84);
        let longer = "r".repeat(200);
        for resource in [
            "",
            "ecs-1",
            "acct-7/flink-2",
            long.as_str(),
            longer.as_str(),
        ] {
            for n in [0, 1, 9, 10, 12_345, u32::MAX] {
                assert_eq!(
                    super::bill_name(resource, n).as_str(),
                    format!("{resource}/{n}")
                );
            }
        }
    }
}
