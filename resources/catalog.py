"""Hand-written product catalogue from which the shipped resources are built.

Every product is fictional; brands are invented so that nothing here is copied from a
real listing. `make_resources.py` turns this into the sample corpus, the seed tasks and
the eval sets.
"""

# title, brand, category, colour or material, main feature, typical use, praise, complaint
PRODUCTS = [
    ("Trailmate 40L Hiking Backpack", "Northpeak", "Sports & Outdoors", "ripstop nylon", "a padded hip belt and rain cover", "weekend hikes", "the hip belt takes the weight off my shoulders", "the side pockets are too shallow for a water bottle"),
    ("Aerofoam Running Shoes", "Stridely", "Clothing, Shoes & Jewelry", "breathable mesh", "a cushioned foam midsole", "road running", "they feel light even after ten miles", "the laces come undone constantly"),
    ("Brewmaster 12-Cup Drip Coffee Maker", "Kitchora", "Home & Kitchen", "stainless steel", "a programmable timer and keep-warm plate", "morning coffee for a family", "coffee is ready when I wake up", "the carafe lid drips when pouring"),
    ("Silkwave Pro Hair Dryer", "Lumora", "Beauty & Personal Care", "matte black plastic", "ionic technology with three heat settings", "drying thick hair quickly", "my hair dries in half the time", "it is louder than I expected"),
    ("Pixelpad 10-inch Kids Tablet", "Brightbyte", "Electronics", "shockproof silicone case", "parental controls and a 12-hour battery", "educational games on road trips", "the case survived several drops", "the screen is dim outdoors"),
    ("Evercast Cast Iron Skillet 12-inch", "Hearthline", "Home & Kitchen", "pre-seasoned cast iron", "even heat retention", "searing steaks and baking cornbread", "it gives a perfect crust on meat", "it is very heavy to lift with one hand"),
    ("Cloudrest Memory Foam Pillow", "Dozewell", "Home & Kitchen", "bamboo fabric cover", "a contoured neck support", "side sleepers with neck pain", "my neck no longer aches in the morning", "it had a chemical smell for the first days"),
    ("Voltcore 20000mAh Power Bank", "Ampify", "Electronics", "aluminium shell", "two USB-C ports with 65W fast charging", "charging a laptop while travelling", "it charges my laptop fully once", "it takes a whole night to recharge"),
    ("Petpal Automatic Cat Feeder", "Whiskerly", "Pet Supplies", "BPA-free plastic", "portion control and a voice recorder", "feeding cats on a schedule", "my cats are fed on time even when I am away", "kibble sometimes jams in the chute"),
    ("Zenflow Yoga Mat 6mm", "Asanova", "Sports & Outdoors", "natural tree rubber", "a non-slip textured surface", "hot yoga and pilates", "no slipping even when I sweat", "the rubber smell lingers"),
    ("Glowleaf LED Desk Lamp", "Lumora", "Office Products", "brushed aluminium arm", "adjustable colour temperature and a USB port", "late-night studying", "the warm light is easy on my eyes", "the touch buttons are too sensitive"),
    ("Tidyhome Robot Vacuum", "Sweepster", "Home & Kitchen", "white ABS body", "lidar mapping and app scheduling", "daily cleaning of pet hair", "it picks up dog hair from the carpet", "it gets stuck under the sofa"),
    ("Harborline Men's Rain Jacket", "Coastwear", "Clothing, Shoes & Jewelry", "waterproof polyester", "taped seams and a packable hood", "commuting by bike in the rain", "I stayed dry in a downpour", "the sleeves run a little short"),
    ("Crunchy Almond Granola 1kg", "Oatfield", "Grocery & Gourmet Food", "resealable paper bag", "no added refined sugar", "quick breakfasts", "the almonds stay crunchy in milk", "the bag is hard to reseal"),
    ("Sparkle Dishwasher Pods 90 Count", "Cleanora", "Health & Household", "dissolvable film", "grease-cutting enzymes", "cleaning baked-on dishes", "glasses come out without spots", "a pod sometimes does not dissolve fully"),
    ("Melodia Wireless Earbuds", "Soundhaven", "Electronics", "glossy white case", "active noise cancellation", "listening on the subway", "the noise cancelling blocks train noise", "the case scratches easily"),
    ("Bloomgarden Ceramic Plant Pots Set of 3", "Verdana", "Patio, Lawn & Garden", "glazed ceramic", "drainage holes with bamboo saucers", "indoor succulents", "they look lovely on my windowsill", "one pot arrived chipped"),
    ("Inkwell Fountain Pen Medium Nib", "Scriptora", "Office Products", "lacquered brass", "a converter for bottled ink", "daily journaling", "the nib writes smoothly from the first stroke", "it leaked a little on a flight"),
    ("Tinytoes Baby Monitor with Camera", "Nestwatch", "Baby Products", "matte white plastic", "night vision and two-way audio", "watching a sleeping infant", "the night vision picture is very clear", "the parent unit battery drains fast"),
    ("Ironclad Adjustable Dumbbells 25kg", "Forgefit", "Sports & Outdoors", "cast iron plates", "a quick-turn weight selector", "home strength training", "changing weights takes a second", "the handle knurling is rough on my hands"),
    ("Snugfit Women's Merino Socks 3-Pack", "Woolbrook", "Clothing, Shoes & Jewelry", "merino wool blend", "cushioned heels and odour resistance", "winter hiking", "my feet stay warm and dry", "one pair got a hole after a month"),
    ("Quickchop Electric Food Processor", "Kitchora", "Home & Kitchen", "clear Tritan bowl", "a 600W motor with four blades", "chopping vegetables for meal prep", "it minces onions in seconds", "the bowl is awkward to clean"),
    ("Lumen 4K Action Camera", "Capturo", "Electronics", "waterproof housing", "image stabilisation at 60 frames per second", "filming mountain biking", "footage is smooth on bumpy trails", "the battery lasts under an hour"),
    ("Puregleam Electric Toothbrush", "Dentiva", "Beauty & Personal Care", "soft-touch handle", "a pressure sensor and two-minute timer", "gentle brushing for sensitive gums", "my dentist noticed cleaner teeth", "replacement heads are expensive"),
    ("Ridgeback Dog Harness Large", "Pawtrail", "Pet Supplies", "reflective nylon webbing", "a front clip that reduces pulling", "walking strong dogs", "my dog no longer pulls on walks", "the buckle is stiff to open"),
    ("Storybloom Wooden Puzzle Set", "Playgrove", "Toys & Games", "sanded birch wood", "chunky pieces with animal shapes", "toddlers learning shapes", "my toddler plays with it every day", "the paint wore off one piece"),
    ("Arcwave Gaming Mouse", "Vortexa", "Video Games", "textured matte plastic", "a 16000 DPI sensor and six buttons", "competitive shooters", "tracking is precise at high speed", "the RGB software is clunky"),
    ("Sunshield SPF 50 Sunscreen Lotion", "Solara", "Beauty & Personal Care", "recyclable tube", "water resistance for 80 minutes", "beach days with children", "no sunburn after a full day outside", "it leaves a white cast"),
    ("Fresco Glass Meal Prep Containers 10-Pack", "Kitchora", "Home & Kitchen", "borosilicate glass", "snap-lock leakproof lids", "packing lunches for work", "soup never leaks in my bag", "the lids crack if dropped"),
    ("Nimbus Portable Bluetooth Speaker", "Soundhaven", "Electronics", "fabric-wrapped body", "IPX7 waterproofing and 20-hour battery", "pool parties", "the bass is surprisingly deep", "pairing two speakers is unreliable"),
    ("Rootwise Organic Potting Soil 20L", "Verdana", "Patio, Lawn & Garden", "compostable bag", "added perlite for drainage", "repotting houseplants", "my plants perked up within a week", "it contained a few fungus gnats"),
    ("Velvetine Matte Lipstick", "Rosalie", "Beauty & Personal Care", "gold metal bullet", "long-wear pigment", "all-day office wear", "the colour lasts through lunch", "it dries out my lips"),
    ("Summit Insulated Water Bottle 750ml", "Northpeak", "Sports & Outdoors", "double-wall stainless steel", "24-hour cold retention", "long days on the trail", "ice is still there the next morning", "the paint chips on the bottom"),
    ("Chronos Smartwatch", "Brightbyte", "Electronics", "silicone strap", "heart-rate and sleep tracking", "monitoring workouts", "the sleep data is surprisingly detailed", "notifications lag behind my phone"),
    ("Woolnest Knitted Throw Blanket", "Dozewell", "Home & Kitchen", "chunky acrylic yarn", "a machine-washable weave", "cosy evenings on the sofa", "it is soft and heavy in a nice way", "it sheds fibres on dark clothes"),
    ("Tinkerlab Robotics Kit for Kids", "Playgrove", "Toys & Games", "snap-together plastic parts", "block-based coding via an app", "STEM learning for ages eight and up", "my son built three robots in a weekend", "the instructions skip a few steps"),
    ("Steadyhand Cordless Drill 18V", "Boltworks", "Tools & Home Improvement", "rubberised grip", "two-speed gearbox and LED light", "assembling furniture", "it drives long screws without effort", "the charger is slow"),
    ("Crystalclear Water Filter Pitcher", "Aquella", "Home & Kitchen", "BPA-free plastic", "a filter life indicator", "better-tasting tap water", "the water no longer tastes of chlorine", "filters need replacing every month"),
    ("Featherlite Carry-On Suitcase", "Jetstride", "Luggage & Travel Gear", "polycarbonate shell", "spinner wheels and a TSA lock", "short business trips", "it glides smoothly through airports", "the shell scuffs quickly"),
    ("Honeybee Raw Wildflower Honey 500g", "Goldcomb", "Grocery & Gourmet Food", "glass jar", "unfiltered raw honey", "sweetening tea", "it tastes floral and rich", "it crystallises within weeks"),
    ("Sharpline Chef's Knife 8-inch", "Hearthline", "Home & Kitchen", "high-carbon steel", "a full tang with an ergonomic handle", "slicing vegetables and meat", "it slices tomatoes paper-thin", "it rusts if left wet"),
    ("Glidepro Electric Scooter", "Urbanroll", "Sports & Outdoors", "aluminium frame", "a 25km range and regenerative braking", "short city commutes", "my commute is now ten minutes shorter", "it struggles on steep hills"),
    ("Calmora Lavender Essential Oil Diffuser", "Serenia", "Health & Household", "wood-grain plastic", "ultrasonic mist with seven LED colours", "relaxing before bed", "the room smells calm and fresh", "the water tank is small"),
    ("Pagewise E-Reader 6-inch", "Scriptora", "Electronics", "glare-free e-ink screen", "weeks of battery life", "reading novels in bed", "the screen is easy on the eyes at night", "page turns feel slow"),
    ("Huggable Plush Bear 40cm", "Playgrove", "Toys & Games", "ultra-soft polyester", "embroidered eyes safe for babies", "a first birthday gift", "my daughter sleeps with it every night", "it flattened after washing"),
    ("Frostbite Mini Fridge 4L", "Chillbox", "Appliances", "compact white housing", "cooling and warming modes", "keeping skincare cool", "it fits perfectly on my dresser", "the fan hums at night"),
    ("Stitchcraft Sewing Machine", "Threadly", "Arts, Crafts & Sewing", "sturdy metal frame", "sixty built-in stitches", "beginner quilting projects", "threading the needle is easy", "it jams with thick denim"),
    ("Aquaglide Swim Goggles", "Stridely", "Sports & Outdoors", "tinted polycarbonate lenses", "anti-fog coating and UV protection", "lap swimming", "they do not fog during long sets", "the strap slips on wet hair"),
    ("Crispair Air Fryer 5L", "Kitchora", "Home & Kitchen", "non-stick basket", "eight cooking presets", "making fries with little oil", "the fries come out crisp", "the basket coating started peeling"),
    ("Motorsport Die-Cast Car Set", "Speedcraft", "Toys & Games", "die-cast metal", "five collectible race cars", "collectors and young racing fans", "the details on the cars are great", "one wheel came loose"),
    ("Veloce Road Bike Helmet", "Urbanroll", "Sports & Outdoors", "in-mould EPS foam", "MIPS protection and 18 vents", "long road rides in summer", "my head stays cool on climbs", "the chin strap pinches"),
    ("Paperpine Recycled Notebook A5", "Scriptora", "Office Products", "recycled kraft cover", "dotted pages that resist ink bleed", "bullet journaling", "fountain pen ink does not bleed through", "the binding loosened quickly"),
    ("Rumbleguard Car Phone Mount", "Ampify", "Automotive", "silicone-padded clamp", "a one-hand magnetic release", "navigation while driving", "my phone stays put on bumpy roads", "the vent clip feels flimsy"),
    ("Snowpeak Kids Ski Gloves", "Coastwear", "Clothing, Shoes & Jewelry", "waterproof shell with fleece lining", "long cuffs that seal out snow", "sledding and ski lessons", "my kids' hands stayed warm all day", "they are hard for small hands to put on"),
    ("Harmony Digital Piano 88 Keys", "Soundhaven", "Musical Instruments", "walnut finish", "weighted hammer-action keys", "learning classical piano", "the keys feel close to an acoustic piano", "the built-in speakers sound thin"),
    ("Vitalize Multivitamin Gummies", "Dentiva", "Health & Household", "recyclable jar", "vitamin D and zinc in a berry flavour", "daily supplements for adults", "they taste like candy", "they stick together in warm weather"),
]

# Attribute vocabularies used to build distractors for the classification tasks.
CATEGORIES = sorted({p[2] for p in PRODUCTS})

# Shopping queries that the retrieval and ranking tasks use, each with the product
# titles a shopper would find relevant, most relevant first.
QUERIES = [
    ("gift for a child who likes building things", ["Tinkerlab Robotics Kit for Kids", "Storybloom Wooden Puzzle Set", "Motorsport Die-Cast Car Set"]),
    ("gear for a rainy bike commute", ["Harborline Men's Rain Jacket", "Veloce Road Bike Helmet", "Rumbleguard Car Phone Mount"]),
    ("making breakfast faster on weekdays", ["Brewmaster 12-Cup Drip Coffee Maker", "Crunchy Almond Granola 1kg", "Crispair Air Fryer 5L"]),
    ("staying hydrated on long hikes", ["Summit Insulated Water Bottle 750ml", "Trailmate 40L Hiking Backpack", "Snugfit Women's Merino Socks 3-Pack"]),
    ("better sleep at night", ["Cloudrest Memory Foam Pillow", "Calmora Lavender Essential Oil Diffuser", "Woolnest Knitted Throw Blanket"]),
    ("home workout equipment", ["Ironclad Adjustable Dumbbells 25kg", "Zenflow Yoga Mat 6mm", "Chronos Smartwatch"]),
    ("looking after a new puppy", ["Ridgeback Dog Harness Large", "Petpal Automatic Cat Feeder", "Tidyhome Robot Vacuum"]),
    ("a quiet commute with music", ["Melodia Wireless Earbuds", "Nimbus Portable Bluetooth Speaker", "Pagewise E-Reader 6-inch"]),
    ("writing by hand every day", ["Inkwell Fountain Pen Medium Nib", "Paperpine Recycled Notebook A5", "Glowleaf LED Desk Lamp"]),
    ("healthy meal prep for the week", ["Fresco Glass Meal Prep Containers 10-Pack", "Quickchop Electric Food Processor", "Sharpline Chef's Knife 8-inch"]),
    ("protecting skin at the beach", ["Sunshield SPF 50 Sunscreen Lotion", "Aquaglide Swim Goggles", "Nimbus Portable Bluetooth Speaker"]),
    ("charging devices while travelling", ["Voltcore 20000mAh Power Bank", "Featherlite Carry-On Suitcase", "Rumbleguard Car Phone Mount"]),
]
