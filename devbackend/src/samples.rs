//! Hand-written sample content (trimmed from the real articles) for titles people try first.

use std::borrow::Cow;

pub struct Sample {
    pub key: &'static str,
    pub page_id: u64,
    pub revision: u64,
    pub timestamp: &'static str,
    pub wikibase_item: &'static str,
    pub description: &'static str,
    pub extract: &'static str,
    pub extract_html: &'static str,
    pub sections: &'static [Section],
    pub images: &'static [Image],
}

/// A section of an article: `heading` is `None` for the lead.
#[derive(Clone)]
pub struct Section {
    pub heading: Option<&'static str>,
    pub html: Cow<'static, str>,
}

/// A Commons file used on a page.
pub struct Image {
    pub file: &'static str,
    /// The `x/xy` hash directory on upload.wikimedia.org.
    pub hash_path: &'static str,
    pub width: u32,
    pub height: u32,
    pub section_id: u32,
    pub caption_html: &'static str,
    pub caption_text: &'static str,
    pub artist: &'static str,
    pub license: &'static str,
}

impl Image {
    pub fn original_url(&self) -> String {
        format!(
            "https://upload.wikimedia.org/wikipedia/commons/{}/{}",
            self.hash_path, self.file
        )
    }

    pub fn thumb_url(&self, width: u32) -> String {
        format!(
            "https://upload.wikimedia.org/wikipedia/commons/thumb/{}/{}/{width}px-{}",
            self.hash_path, self.file, self.file
        )
    }

    /// Thumbnail height for `width`, keeping the aspect ratio.
    pub fn thumb_height(&self, width: u32) -> u32 {
        if self.width == 0 {
            return width;
        }
        let height = u64::from(self.height) * u64::from(width) / u64::from(self.width);
        u32::try_from(height).unwrap_or(width)
    }
}

pub fn find(key: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|sample| sample.key == key)
}

const SAMPLES: &[Sample] = &[EARTH];

const EARTH: Sample = Sample {
    key: "Earth",
    page_id: 9228,
    revision: 1_288_413_702,
    timestamp: "2025-04-26T09:11:52Z",
    wikibase_item: "Q2",
    description: "Third planet from the Sun",
    extract: "Earth is the third planet from the Sun and the only astronomical object known to \
harbor life. This is enabled by Earth being an ocean world, the only one in the Solar System \
sustaining liquid surface water. Almost all of Earth's water is contained in its global ocean, \
covering 70.8% of Earth's crust.",
    extract_html: "<p><b>Earth</b> is the third planet from the Sun and the only astronomical \
object known to harbor life. This is enabled by Earth being an ocean world, the only one in the \
Solar System sustaining liquid surface water. Almost all of Earth's water is contained in its \
global ocean, covering 70.8% of Earth's crust.</p>",
    sections: &[
        Section {
            heading: None,
            html: Cow::Borrowed(
                "<figure typeof=\"mw:File/Thumb\" id=\"mwAg\"><a href=\"./File:The_Earth_seen_from_Apollo_17.jpg\" \
class=\"mw-file-description\"><img resource=\"./File:The_Earth_seen_from_Apollo_17.jpg\" \
src=\"//upload.wikimedia.org/wikipedia/commons/thumb/9/97/The_Earth_seen_from_Apollo_17.jpg/250px-The_Earth_seen_from_Apollo_17.jpg\" \
decoding=\"async\" data-file-width=\"3000\" data-file-height=\"3002\" data-file-type=\"bitmap\" \
height=\"250\" width=\"250\" class=\"mw-file-element\"/></a><figcaption id=\"mwAw\">The \
<i>Blue Marble</i>, taken by the crew of <i>Apollo 17</i> in 1972</figcaption></figure>\
<p id=\"mwBA\"><b>Earth</b> is the third <a rel=\"mw:WikiLink\" href=\"./Planet\" title=\"Planet\">planet</a> \
from the <a rel=\"mw:WikiLink\" href=\"./Sun\" title=\"Sun\">Sun</a> and the only \
<a rel=\"mw:WikiLink\" href=\"./Astronomical_object\" title=\"Astronomical object\">astronomical object</a> \
known to <a rel=\"mw:WikiLink\" href=\"./Planetary_habitability\" title=\"Planetary habitability\">harbor life</a>. \
This is enabled by Earth being an <a rel=\"mw:WikiLink\" href=\"./Ocean_world\" title=\"Ocean world\">ocean world</a>, \
the only one in the <a rel=\"mw:WikiLink\" href=\"./Solar_System\" title=\"Solar System\">Solar System</a> \
sustaining liquid surface water. Almost all of Earth's water is contained in its global ocean, \
covering 70.8% of <a rel=\"mw:WikiLink\" href=\"./Earth's_crust\" title=\"Earth's crust\">Earth's crust</a>.</p>",
            ),
        },
        Section {
            heading: Some("Etymology"),
            html: Cow::Borrowed(
                "<p id=\"mwBQ\">The Modern English word <i>Earth</i> developed, via \
<a rel=\"mw:WikiLink\" href=\"./Middle_English\" title=\"Middle English\">Middle English</a>, from an \
<a rel=\"mw:WikiLink\" href=\"./Old_English\" title=\"Old English\">Old English</a> noun most often spelled \
<i lang=\"ang\">eorðe</i>. It has cognates in every \
<a rel=\"mw:WikiLink\" href=\"./Germanic_languages\" title=\"Germanic languages\">Germanic language</a>.</p>",
            ),
        },
        Section {
            heading: Some("Physical characteristics"),
            html: Cow::Borrowed(
                "<p id=\"mwBg\">Earth has a rounded shape, through \
<a rel=\"mw:WikiLink\" href=\"./Hydrostatic_equilibrium\" title=\"Hydrostatic equilibrium\">hydrostatic equilibrium</a>, \
with an average diameter of 12,742 kilometers (7,918 mi), making it the fifth largest planetary sized \
and largest <a rel=\"mw:WikiLink\" href=\"./Terrestrial_planet\" title=\"Terrestrial planet\">terrestrial</a> \
object of the Solar System.</p>",
            ),
        },
        Section {
            heading: Some("Orbit and rotation"),
            html: Cow::Borrowed(
                "<p id=\"mwBw\">Earth orbits the Sun at an average distance of about 150 million km \
(93 million mi) every 365.2564 mean <a rel=\"mw:WikiLink\" href=\"./Solar_day\" title=\"Solar day\">solar days</a>, \
or one <a rel=\"mw:WikiLink\" href=\"./Sidereal_year\" title=\"Sidereal year\">sidereal year</a>.</p>\
<figure typeof=\"mw:File/Thumb\" id=\"mwCA\"><a href=\"./File:Pale_Blue_Dot.png\" class=\"mw-file-description\">\
<img resource=\"./File:Pale_Blue_Dot.png\" src=\"//upload.wikimedia.org/wikipedia/commons/thumb/7/73/Pale_Blue_Dot.png/220px-Pale_Blue_Dot.png\" \
decoding=\"async\" data-file-width=\"480\" data-file-height=\"640\" data-file-type=\"bitmap\" \
height=\"293\" width=\"220\" class=\"mw-file-element\"/></a><figcaption id=\"mwCQ\">\
<i>Pale Blue Dot</i>: Earth seen from 6 billion km by <i>Voyager 1</i></figcaption></figure>",
            ),
        },
    ],
    images: &[
        Image {
            file: "The_Earth_seen_from_Apollo_17.jpg",
            hash_path: "9/97",
            width: 3000,
            height: 3002,
            section_id: 0,
            caption_html: "The <i>Blue Marble</i>, taken by the crew of <i>Apollo 17</i> in 1972",
            caption_text: "The Blue Marble, taken by the crew of Apollo 17 in 1972",
            artist: "NASA/Apollo 17 crew",
            license: "Public domain",
        },
        Image {
            file: "Pale_Blue_Dot.png",
            hash_path: "7/73",
            width: 480,
            height: 640,
            section_id: 3,
            caption_html: "<i>Pale Blue Dot</i>: Earth seen from 6 billion km by <i>Voyager 1</i>",
            caption_text: "Pale Blue Dot: Earth seen from 6 billion km by Voyager 1",
            artist: "NASA/JPL",
            license: "Public domain",
        },
    ],
};
