//! The closed vocabularies of popbench: harms, risk levels, service kinds, audiences and
//! contact channels. These ids are part of the wire format (scenario files, directory files,
//! verdict JSON) and must not change.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $id:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $id)] $variant,)+
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable id used in files and JSON.
            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id,)+ }
            }

            /// Parses a stable id; `None` when it is not a member.
            pub fn from_id(s: &str) -> Option<Self> {
                match s { $($id => Some($name::$variant),)+ _ => None }
            }

            /// The ids of all members, comma separated (for error messages).
            pub fn id_list() -> String {
                Self::ALL.iter().map(|v| v.id()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.id())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::from_id(s).ok_or_else(|| format!("unknown {} `{}` (expected one of: {})",
                    stringify!($name).to_lowercase(), s, Self::id_list()))
            }
        }
    };
}

closed_set! {
    /// What the child is reaching out about.
    Harm {
        /// Violence or abuse at home, including witnessing it.
        DomesticViolence => "domestic_violence",
        /// Sexual abuse in person.
        SexualAbuse => "sexual_abuse",
        /// Physical violence outside the home.
        PhysicalViolence => "physical_violence",
        /// Bullying in person.
        Bullying => "bullying",
        /// Bullying online.
        Cyberbullying => "cyberbullying",
        /// Discrimination (racism, homophobia, disability and so on).
        Discrimination => "discrimination",
        /// An adult building trust online for sexual purposes.
        Grooming => "grooming",
        /// Threats to share sexual images unless paid or given more.
        Sextortion => "sextortion",
        /// Sexual images shared without consent.
        ImageAbuse => "image_abuse",
        /// Harm met in online games (pressure, scams, predatory players).
        GamingHarm => "gaming_harm",
        /// Self-harm.
        SelfHarm => "self_harm",
        /// Thoughts of suicide.
        SuicidalThoughts => "suicidal_thoughts",
        /// Anxiety, sadness, stress, fear.
        MentalDistress => "mental_distress",
        /// Loneliness and isolation.
        Loneliness => "loneliness",
        /// Eating problems.
        EatingProblems => "eating_problems",
        /// Neglect: no food, care or supervision.
        Neglect => "neglect",
        /// Forced or early marriage.
        ChildMarriage => "child_marriage",
        /// Labour or sexual exploitation, trafficking.
        Exploitation => "exploitation",
        /// Running away, or thinking of it.
        RunningAway => "running_away",
        /// No harm: a control scenario.
        NoHarm => "no_harm",
    }
}

closed_set! {
    /// How urgent the danger is.
    Risk {
        /// Danger now: only emergency services are fast enough.
        Imminent => "imminent",
        /// Serious harm, ongoing or likely soon.
        High => "high",
        /// Harm or distress without immediate danger.
        Moderate => "moderate",
        /// No risk: a control scenario.
        None => "none",
    }
}

closed_set! {
    /// The kind of a protection service.
    ServiceKind {
        /// A national child helpline.
        ChildHelpline => "child_helpline",
        /// Emergency services (police, ambulance, general emergency number).
        Emergency => "emergency",
        /// A suicide or emotional crisis line.
        CrisisLine => "crisis_line",
        /// A service for a specific harm (reporting, image removal, LGBTQ+ youth...).
        Specialised => "specialised",
        /// A directory of helplines (Befrienders Worldwide, IASP's crisis centres, Find A
        /// Helpline, Child Helpline International's list): a path to help where the child's
        /// country is unknown; where the country has its own line, a pointer to it, not the
        /// line itself.
        Directory => "directory",
        /// A real organisation or public page that is not a protection service (a professional
        /// body, a therapist finder, a government health site): never invented, meets no
        /// requirement.
        Resource => "resource",
    }
}

closed_set! {
    /// Who a service is for.
    Audience {
        /// Children (usually under 18).
        Children => "children",
        /// Young people (often up to 24 or 25).
        Youth => "youth",
        /// Parents and adults worried about a child; not for the child.
        Parents => "parents",
        /// Adults (18+) only; not for children (e.g. adult image-removal services).
        Adults => "adults",
        /// Everyone.
        All => "all",
    }
}

closed_set! {
    /// A channel through which a service is reached.
    ContactKind {
        /// A telephone number.
        Phone => "phone",
        /// A number to text, optionally with a keyword.
        Sms => "sms",
        /// A web chat address.
        Chat => "chat",
        /// A web site.
        Web => "web",
        /// A WhatsApp number.
        Whatsapp => "whatsapp",
        /// An e-mail address.
        Email => "email",
        /// A smartphone app.
        App => "app",
    }
}

impl ContactKind {
    /// Whether the value of this contact is a number that one dials or texts.
    pub fn is_number(self) -> bool {
        matches!(
            self,
            ContactKind::Phone | ContactKind::Sms | ContactKind::Whatsapp
        )
    }
}

impl ServiceKind {
    /// Whether a service of this kind is a protection service a policy can require (a child
    /// helpline, emergency services, a crisis line, a specialised service), as opposed to a
    /// directory of helplines or a resource.
    pub fn is_protection(self) -> bool {
        !matches!(self, ServiceKind::Directory | ServiceKind::Resource)
    }
}

impl Harm {
    /// Whether this is the no-harm control.
    pub fn is_control(self) -> bool {
        self == Harm::NoHarm
    }
}

/// The age band a scenario falls in, for breakdowns.
pub fn age_band(age: u8) -> &'static str {
    match age {
        0..=10 => "8-10",
        11..=13 => "11-13",
        14..=15 => "14-15",
        16..=17 => "16-17",
        _ => "18-19",
    }
}
